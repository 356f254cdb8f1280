"""The inbox: list, mark one read (HTMX partial or redirect), mark all read, open (read + follow link)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import actions
from .models import Notification

PAGE_SIZE = 20


def _uid(request: HttpRequest) -> int:
    """The logged-in user's id (views here are all behind login_required)."""
    pk = request.user.pk
    if pk is None:
        raise Http404
    return int(pk)


def _own(request: HttpRequest, pk: int) -> Notification:
    """The user's own notification; someone else's is as missing as a deleted one."""
    try:
        return Notification.objects.get(pk=pk, user_id=_uid(request))
    except Notification.DoesNotExist:
        raise Http404 from None


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("inbox")


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    qs = Notification.objects.filter(user_id=_uid(request)).order_by("-id")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    unread = Notification.objects.filter(user_id=_uid(request), read_at__isnull=True).count()
    newest = qs.values_list("pk", flat=True).first() or 0
    return render(
        request,
        "notify/inbox.html",
        {"page": page, "notifications": page.object_list, "unread": unread, "newest_id": newest},
    )


@require_POST
@login_required
def read_one(request: HttpRequest, pk: int) -> HttpResponse:
    notification = _own(request, pk)
    actions.mark_read(request.user, [notification.pk])
    if request.headers.get("HX-Request"):
        notification.refresh_from_db()
        return render(request, "notify/_item.html", {"n": notification})
    return redirect(_back(request))


@require_POST
@login_required
def read_all(request: HttpRequest) -> HttpResponse:
    count = actions.mark_all_read(request.user)
    if count:
        messages.success(request, _("All notifications marked as read."))
    return redirect(_back(request))


@require_GET
@login_required
def open_one(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark read and follow the notification's link (links are checked when notifications are made)."""
    notification = _own(request, pk)
    actions.mark_read(request.user, [notification.pk])
    link = notification.link
    if link.startswith("/") and not link.startswith("//"):
        return HttpResponseRedirect(link)
    if link.startswith(("https://", "http://")):
        return HttpResponseRedirect(link)
    return redirect("inbox")
