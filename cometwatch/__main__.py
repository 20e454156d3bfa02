from cometwatch.cli import run

run()
