from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import QueryKind
from .query import MAX_LENGTH


class QueryForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=_("About"),
        choices=QueryKind.choices,
        help_text=_(
            "The brand, a product or an executive: about you, counted in the share of voice "
            "and in crisis detection. A competitor, an industry term or a hashtag: followed "
            "beside, never raising a crisis alert."
        ),
    )
    text = forms.CharField(
        label=_("Query"),
        max_length=MAX_LENGTH,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "query-text"}),
        help_text=_(
            'Words, "exact phrases", AND, OR, NOT or -, parentheses, "two words"~5 or '
            "x NEAR/5 y, lumi* for words that start so, lang:fr, -author:handle."
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class SourceForm(forms.Form):
    """A public stream to read: Jetstream, or Mastodon streaming, tag timeline or search."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            ("jetstream", _("Bluesky (Jetstream)")),
            ("mastodon-stream", _("Mastodon streaming")),
            ("mastodon-tag", _("Mastodon hashtag timeline")),
            ("mastodon-search", _("Mastodon search")),
            ("youtube-search", _("YouTube search")),
            ("instagram-hashtag", _("Instagram hashtags")),
            ("instagram-tags", _("Instagram: media the account is tagged in")),
            ("x-search", _("X recent search")),
        ],
    )
    url = forms.CharField(
        label=_("Address"),
        max_length=300,
        required=False,
        help_text=_(
            "The Mastodon instance (mastodon.social). For Jetstream: empty for Bluesky's "
            "public instances, or your own wss:// address."
        ),
    )
    target = forms.CharField(
        label=_("What to read"),
        max_length=200,
        required=False,
        help_text=_(
            "Streaming: public, or a hashtag. Hashtag timeline: the hashtag. Search: the words. "
            "Instagram hashtags: one hashtag (30 different ones per account in 7 days)."
        ),
    )
    channel = forms.TypedChoiceField(
        label=_("Token of a connected channel"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_(
            "Mastodon, YouTube, Instagram and X read with the token of a channel of the same "
            "network."
        ),
    )
    query = forms.TypedChoiceField(
        label=_("Listening query asked of the network"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_(
            "YouTube and X: what their search is asked, in their own operators; what they "
            "cannot be asked is filtered here."
        ),
    )
    token = forms.CharField(
        label=_("Or a token for this instance"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Streaming and search need a user token since Mastodon 4.2."),
    )

    def __init__(
        self,
        *args: object,
        channels: list[tuple[int, str]],
        queries: list[tuple[int, str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["channel"].choices = [("", _("— none —")), *channels]  # type: ignore[attr-defined]
        self.fields["query"].choices = [  # type: ignore[attr-defined]
            ("", _("All the workspace's active queries")),
            *(queries or []),
        ]


class FollowForm(forms.Form):
    """A public account followed beside the brand's."""

    label = forms.CharField(label=_("Whose account"), max_length=120)
    side = forms.ChoiceField(
        label=_("Side"), choices=[("competitor", _("Competitor")), ("own", _("Ours"))]
    )
    network = forms.ChoiceField(
        label=_("Network"),
        choices=[("bluesky", "Bluesky"), ("mastodon", "Mastodon"), ("sandbox", _("Sandbox"))],
    )
    handle = forms.CharField(
        label=_("Account"),
        max_length=300,
        help_text=_("name.bsky.social, user@instance.social or a profile link; a sandbox handle."),
    )
