from django.urls import path

from portevoix.inbox import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("list/", views.list_part, name="inbox_list_part"),
    path("bulk/", views.bulk_view, name="inbox_bulk"),
    path("c/<int:pk>/", views.conversation_page, name="inbox_conversation"),
    path("c/<int:pk>/thread/", views.thread_part, name="inbox_thread_part"),
    path("c/<int:pk>/reply/", views.reply_view, name="inbox_reply"),
    path("c/<int:pk>/state/", views.state_view, name="inbox_state"),
    path("c/<int:pk>/assign/", views.assign_view, name="inbox_assign"),
    path("c/<int:pk>/priority/", views.priority_view, name="inbox_priority"),
    path("c/<int:pk>/labels/", views.labels_view, name="inbox_labels"),
    path("c/<int:pk>/note/", views.note_view, name="inbox_note"),
    path("c/<int:pk>/hand-off/", views.handoff_view, name="inbox_hand_off"),
    path("replies/<int:pk>/send/", views.reply_send_view, name="inbox_reply_send"),
    path("replies/<int:pk>/discard/", views.reply_discard_view, name="inbox_reply_discard"),
    path(
        "hand-offs/<int:pk>/take-over/",
        views.handoff_take_over_view,
        name="inbox_handoff_take_over",
    ),
    path("hand-offs/<int:pk>/close/", views.handoff_close_view, name="inbox_handoff_close"),
    path("hand-offs/<int:pk>/link/", views.handoff_link_view, name="inbox_handoff_link_make"),
    path(
        "hand-off-links/<int:pk>/revoke/",
        views.handoff_link_revoke_view,
        name="inbox_handoff_link_revoke",
    ),
    path("customers/<int:pk>/", views.customer_page, name="inbox_customer"),
    path("setup/", views.setup, name="inbox_setup"),
    path("setup/canned/", views.setup_canned, name="inbox_setup_canned"),
    path("setup/offers/", views.setup_offer, name="inbox_setup_offer"),
    path("setup/labels/", views.setup_label, name="inbox_setup_label"),
    path("setup/approval/", views.setup_rule, name="inbox_setup_rule"),
]
