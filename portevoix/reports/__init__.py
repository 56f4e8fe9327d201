"""Charts drawn on the server as SVG, and PDF documents made from HTML (ADR 1201).

One way to draw a chart for every place that needs one without JavaScript: the PDF reports
(crisis post-incident report, analytics' scheduled reports), e-mails, and the pages' fallback.
Pages that want interaction use analytics' charting library on the same numbers.
"""
