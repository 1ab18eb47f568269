"""Fixed, seeded benchmarks: `python -m benchmarks [--quick] [--only ...] [--json out.json]`."""
