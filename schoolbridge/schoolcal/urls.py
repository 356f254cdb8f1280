app_name = "schoolcal"
urlpatterns: list = []
