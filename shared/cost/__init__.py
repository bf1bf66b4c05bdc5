"""What an environment costs a month, offline: the synthesized stacks priced from a committed price file.

The package, by concept:

- prices.py    the committed price files (prices/<region>.json), each price with its AWS source and date
- free.py      the resource types AWS does not bill, each with why: the one list of them
- model.py     resource attributes to priced line items (low, expected, high), one pricer per type
- estimate.py  one environment: every stack and the state bucket, from the synthesized JSON
- report.py    the estimate as the console, reports/<env>-cost.json and its Markdown twin say it
- refresh.py   make prices: the price files refreshed from the AWS Price List API
"""
