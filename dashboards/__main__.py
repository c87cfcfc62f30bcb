"""`python -m dashboards` (what `make dashboards` runs): Streamlit on dashboards/app.py, at the host and port of
analyticbot.settings; everything else in .streamlit/config.toml."""

from __future__ import annotations

import sys
from pathlib import Path

from analyticbot.secret_box import dashboards_box
from analyticbot.settings import ConfigError, get_settings

APP = Path(__file__).resolve().parent / "app.py"


def main() -> int:
    try:
        settings = get_settings()
        dashboards_box(settings)  # the key file is made (or found damaged) now, not at the first login
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    from streamlit.web import cli as streamlit_cli

    print(f"Dashboards at http://{settings.dashboards_host}:{settings.dashboards_port} (Ctrl-C stops them).",
          flush=True)
    sys.argv = ["streamlit", "run", str(APP), "--server.address", settings.dashboards_host,
                "--server.port", str(settings.dashboards_port), "--server.headless", "true",
                "--browser.gatherUsageStats", "false"]
    return streamlit_cli.main()


if __name__ == "__main__":
    sys.exit(main())
