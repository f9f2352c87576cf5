"""The app's Settings as the tests build them: apart from the developer's environment."""

from __future__ import annotations

from pathlib import Path

from outreach.config import Settings


def isolated_settings(data_dir: Path, **values: object) -> Settings:
    """Settings that ignore the developer's environment and .env."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        OUTREACH_DATA_DIR=data_dir,
        OUTREACH_SECRET_KEY="k" * 8 + "Zq7-Lp2@Xw9#Rt4!Mn6$Hb1%Vc3^Jd",
        **values,
    )
