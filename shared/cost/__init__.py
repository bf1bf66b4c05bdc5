"""What an environment costs a month, offline: the synthesized stacks priced from a committed price file.

The package, by concept:

- prices.py    the committed price files (prices/<region>.json), each price with its AWS source and date
- free.py      the resource types AWS does not bill, each with why: the one list of them
- lines.py     what the model is made of: a low-expected-high span, a line item, the stack a pricer sees
- pricers.py   one pricer per billed resource type: attributes and usage to price keys and quantities
- model.py     a stack's resources to priced line items; an unknown type refused by name
- estimate.py  one environment: every stack and the state bucket, from the synthesized JSON
- report.py    the estimate as the console, reports/<env>-cost.json and its Markdown twin say it
- plan.py      what a plan does to the bill: its prior state and planned values priced (make plan's reports)
- command.py   make cost and make prices
- refresh.py   make prices: the price files refreshed from the AWS Price List API
"""
