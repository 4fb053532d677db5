"""Uploading a published version to the Hugging Face Hub and tagging it (token from HF_TOKEN, never printed)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from annotate.core.errors import HubError


def push_folder(folder: Path, repo: str, tag: str, *, hub: Any = None) -> str:
    """Upload a version folder to a Hub dataset repository and tag that commit; return its address."""
    token = hub_token(repo)
    # lazy: the Hub client takes a tenth of a second to import; only an upload needs it
    from huggingface_hub import HfApi

    api = hub if hub is not None else HfApi()
    try:
        api.create_repo(repo, repo_type="dataset", exist_ok=True, token=token)
        commit = api.upload_folder(
            repo_id=repo, folder_path=str(folder), repo_type="dataset", commit_message=f"Publish {tag}", token=token
        )
        api.create_tag(repo, tag=tag, revision=getattr(commit, "oid", None), repo_type="dataset", token=token)
    except _hub_failures() as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0].replace(token, "***")[:200]
        raise HubError(
            f"Could not push {tag} to the Hugging Face Hub repository {repo} ({reason}). "
            f"The version stays at {folder}; push it with "
            f"`annotate publish --version {tag[1:]} --push-to-hub {repo}` once the Hub is reachable."
        ) from None
    return f"https://huggingface.co/datasets/{repo}/tree/{tag}"


def _hub_failures() -> tuple[type[BaseException], ...]:
    """What a Hub call raises when the Hub refuses or cannot be reached, whichever HTTP client the installed
    huggingface_hub is built on (httpx before 2.x, httpx2 after)."""
    # lazy: as for HfApi above
    from huggingface_hub.errors import HfHubHTTPError

    failures: list[type[BaseException]] = [HfHubHTTPError, OSError, ValueError]
    for client in ("httpx", "httpx2"):  # requests' errors are OSErrors already
        try:
            failures.append(importlib.import_module(client).HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(failures)


def hub_token(repo: str) -> str:
    token = os.environ.get("HF_TOKEN")
    if not token:
        raise HubError(
            f"HF_TOKEN is not set: set it to a Hugging Face token that may write to {repo}, then run the command again."
        )
    return token
