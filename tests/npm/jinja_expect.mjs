// Fills in the expected output of the unit cases (testdata/jinja/unit_cases.json) from the reference,
// @huggingface/jinja: node tests/npm/jinja_expect.mjs < cases.json > testdata/jinja/unit_cases.json.
// Each case gets "expected" (the text) or "error" (the reference's message).
import { Template } from "@huggingface/jinja";
import { readFileSync } from "node:fs";

const cases = JSON.parse(readFileSync(0, "utf8"));
for (const c of cases) {
  delete c.expected;
  delete c.error;
  try {
    c.expected = new Template(c.template).render(c.context);
  } catch (e) {
    c.error = String(e && e.message ? e.message : e);
  }
}
process.stdout.write(JSON.stringify(cases, null, 1) + "\n");
