"""The articles' own material beyond their equations: AV's network and experiment, and the
errata found in the three articles and their code (`errata`)."""
