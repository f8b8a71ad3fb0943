"""The adversarial test of the web app (issue #9), one module per attack class.

``bench/adversarial.py`` runs it: :mod:`bench.adversarial.harness` starts the real server in a
temporary directory (users, a document tree with a restricted folder, the fake LLM), each class
module attacks it and counts what it tried and what got through, :mod:`bench.adversarial.run`
prints the table. docs/security.md ("The adversarial test") says what each class attacks.
"""
