"""Per-feature message catalogues, merged into `bot.i18n.MESSAGES` at import (one module per feature)."""
