"""The `polyhunter` command."""

from __future__ import annotations

import typer

from polyhunter.commands import (
    account,
    archive,
    backtest,
    bench,
    cluster,
    config,
    custody,
    db,
    demo,
    doctor,
    leaders,
    run,
    serve,
    sim,
    switches,
    wallet,
    watch,
    worker,
)

app = typer.Typer(
    name="polyhunter",
    help="PolyHunter: copy Polymarket leaders' fills to followers, exactly once, within their limits.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(config.app, name="config")
app.add_typer(account.app, name="account")
app.add_typer(db.app, name="db")
app.command("watch")(watch.watch)
app.add_typer(sim.app, name="sim")
app.command("run")(run.run)
app.command("worker")(worker.worker)
app.add_typer(cluster.app, name="cluster")
app.command("switches")(switches.switches_command)
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)
app.command("bench")(bench.bench)
app.command("doctor")(doctor.doctor)
app.command("archive")(archive.archive)
app.add_typer(leaders.app, name="leaders")
app.command("backtest")(backtest.backtest)
app.add_typer(wallet.app, name="wallet")
app.add_typer(custody.fleet_app, name="fleet")
app.add_typer(custody.proxy_app, name="proxy")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
