from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def two_factor(request: HttpRequest) -> HttpResponse:
    return HttpResponse("2fa")
