"""Demo data, in two parts: `orgs` (the demo organisations acme and globex, with members, a
chart, entities, rates and 24 months of entries, plus the domain apps' seeders) and `volume`
(synthetic volume for load and benchmarks: wide charts, millions of lines, GL-import files)."""
