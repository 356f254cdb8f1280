"""Background jobs of the import hub: checking and committing a batch, and the scheduled sync (beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="schoolbridge.imports.tasks.check_batch")
def check_batch(batch_id: int) -> str:
    from .actions import check, job_crashed

    try:
        return check(int(batch_id)).status
    except Exception:
        job_crashed(int(batch_id))
        raise


@shared_task(name="schoolbridge.imports.tasks.commit_batch")
def commit_batch(batch_id: int, user_id: int, proceed_with_valid: bool = True) -> str:
    from django.contrib.auth import get_user_model

    from .actions import commit, job_crashed

    user = get_user_model().objects.get(pk=user_id)
    try:
        return commit(user, int(batch_id), proceed_with_valid).status
    except Exception:
        job_crashed(int(batch_id))
        raise


@shared_task(name="schoolbridge.imports.tasks.sync_sources")
def sync_sources() -> dict[str, str]:
    """Sync every saved SQL/API source whose schedule is due; one failing source does not stop the others."""
    import logging

    from .actions import due_sources, sync_source

    out: dict[str, str] = {}
    for source in due_sources():
        try:
            out[str(source.pk)] = sync_source(source).status
        except Exception:  # noqa: BLE001 — logged; the next run tries again
            logging.getLogger(__name__).exception("scheduled import of source %s failed", source.pk)
            out[str(source.pk)] = "error"
    return out
