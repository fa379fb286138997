"""The periodic report: self-contained HTML and Markdown built from results.json.

``methods`` (words generated from the plan), ``tables`` (formatted rows), ``figures``
(inline SVG drawn by ``svg_plot``, and the numbers behind them), ``render`` (jinja2 templates in ``templates/``).
"""
