"""Payments: the plan catalogue, orders, the payment ledger, and the gateway protocols (Stripe, Payme, Click).

Pure protocol logic over a SQLAlchemy session; the HTTP layer in `serving.webhooks` only parses requests and
writes answers, so the demo history and the tests drive exactly the same code."""
