// Renders each case on stdin with @huggingface/jinja: input [{template, context}], output
// [{text} | {error}] on stdout, in order. tests/jinja/reference_test.cpp compares our renderer with it.
import { Template } from "@huggingface/jinja";
import { readFileSync } from "node:fs";

const cases = JSON.parse(readFileSync(0, "utf8"));
const parsed = new Map();
const results = cases.map(({ template, context }) => {
  try {
    if (!parsed.has(template)) parsed.set(template, new Template(template));
    return { text: parsed.get(template).render(context) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(results));
