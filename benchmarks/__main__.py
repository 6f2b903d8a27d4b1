"""`python -m benchmarks [--quick] [NAME …]`."""

from benchmarks.run import main

main()
