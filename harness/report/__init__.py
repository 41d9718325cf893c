"""The validation report (``gumbel-harness report``): run the experiments of every claim
(:mod:`harness.report.runner`), draw the figures (:mod:`harness.report.figures`), render HTML and
Markdown (:mod:`harness.report.render`) and write the directory atomically
(:mod:`harness.report.writer`)."""
