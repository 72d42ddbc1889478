"""Every equation with its ID: where it comes from, which functions compute it, which tests
check it, and `explain`, which prints all of that for one ID.

- `articles`: the three articles' equations (AV-*, MB-*, IC-*);
- `ops`: the ops of modern CNNs (ACT-*, NRM-*, SPA-*), from their papers or torch's docs;
- `explain`: ``python -m ref_cnn explain ID``.
"""
