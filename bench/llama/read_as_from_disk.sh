#!/usr/bin/env bash
# Leaves FILEs in the page cache as a read from the disk leaves them: each is dropped from the cache
# (posix_fadvise DONTNEED) and read again. A file read from the disk (or written in large writes) sits in 2 MiB
# folios, which a whole-file mmap maps as 2 MiB pages; one copied by cp (copy_file_range) sits in 4 KiB pages,
# which on the development VM read 5-13% slower and fault 8 x slower on first touch.
#   bench/llama/read_as_from_disk.sh FILE...
set -euo pipefail
/usr/bin/python3 -c 'import os, sys
for f in sys.argv[1:]:
    fd = os.open(f, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
cat "$@" >/dev/null
