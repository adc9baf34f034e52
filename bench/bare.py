"""The bare Flask app of the benchmark: one route returning a short string.

``bench/run.py`` serves it with the same gunicorn settings as Balai, in the same run, so every
Balai page is also reported as a ratio to it: ``gunicorn -w 2 bench.bare:app`` (from the repo root)
or ``gunicorn --chdir bench bare:app``.
"""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    """A short constant string: what Flask + gunicorn cost on their own."""
    return "Balai bench: bare Flask"
