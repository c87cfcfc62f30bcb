"""A fake telethon client that answers with telethon's own types (no network), and message builders.

Shared by the live-source unit tests and the ingestion integration test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from telethon import errors, functions, types

NOW = datetime(2025, 3, 10, 12, 0, 0)  # naive UTC
UTC = timezone.utc
CID = 1001
OTHER = 2002


def graph_json(days: list[date], joined: list[int], left: list[int]) -> str:
    xs = [int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp() * 1000) for d in days]
    return json.dumps({
        "columns": [["x", *xs], ["y0", *joined], ["y1", *left]],
        "names": {"y0": "Joined", "y1": "Left"},
        "types": {"x": "x", "y0": "line", "y1": "line"},
        "colors": {"y0": "#000", "y1": "#fff"},
    })


def _abs(v: float = 1.0) -> types.StatsAbsValueAndPrev:
    return types.StatsAbsValueAndPrev(current=v, previous=v)


def broadcast_stats(followers_graph) -> types.stats.BroadcastStats:
    none = types.StatsGraphError(error="not enough data")
    return types.stats.BroadcastStats(
        period=types.StatsDateRangeDays(min_date=datetime(2025, 3, 1, tzinfo=UTC),
                                        max_date=datetime(2025, 3, 9, tzinfo=UTC)),
        followers=_abs(100), views_per_post=_abs(), shares_per_post=_abs(), reactions_per_post=_abs(),
        views_per_story=_abs(), shares_per_story=_abs(), reactions_per_story=_abs(),
        enabled_notifications=types.StatsPercentValue(part=1, total=2),
        growth_graph=none, followers_graph=followers_graph, mute_graph=none, top_hours_graph=none,
        interactions_graph=none, iv_interactions_graph=none, views_by_source_graph=none,
        new_followers_by_source_graph=none, languages_graph=none, reactions_by_emotion_graph=none,
        story_interactions_graph=none, story_reactions_by_emotion_graph=none, recent_posts_interactions=[],
    )


@dataclass
class FakeChannel:
    id: int
    title: str = "Channel"
    username: str | None = None
    participants: int = 1234
    can_view_stats: bool = False
    messages: list = field(default_factory=list)
    views: dict = field(default_factory=dict)       # message id -> (views, forwards, replies)
    reactions: dict = field(default_factory=dict)   # message id -> MessageReactions
    followers_graph: object = None
    async_graphs: dict = field(default_factory=dict)  # token -> graph

    def entity(self) -> types.Channel:
        return types.Channel(id=self.id, title=self.title, photo=types.ChatPhotoEmpty(),
                             date=datetime(2024, 1, 1, tzinfo=UTC), broadcast=True, access_hash=42,
                             username=self.username)


class FakeClient:
    """get_entity, __call__(request) dispatching on the request type, and async iter_messages honouring min_id.

    `fail[key]` is a list of exceptions raised, one per call, before answering; keys are request type names,
    "get_entity" and "iter_messages". `fail_iter_after` raises the next iter_messages failure after that many
    messages were yielded (a flood wait in the middle of a history walk).
    """

    def __init__(self, *channels: FakeChannel, cached_ids: set[int] | None = None):
        self.channels = {c.id: c for c in channels}
        self.fail: dict[str, list[BaseException]] = {}
        self.fail_iter_after: int | None = None
        self.calls: list = []
        self.iter_calls: list[tuple[int, int, bool]] = []
        self.cached_ids = set(self.channels) if cached_ids is None else cached_ids
        self.dialogs_loaded = 0

    async def __aenter__(self):  # `async with client:` connects a real TelegramClient; nothing to do here
        return self

    async def __aexit__(self, *exc) -> bool:
        return False

    def _maybe_fail(self, key: str) -> None:
        queue = self.fail.get(key)
        if queue:
            raise queue.pop(0)

    async def get_entity(self, target):
        self._maybe_fail("get_entity")
        if isinstance(target, str):
            for c in self.channels.values():
                if c.username == target:
                    return c.entity()
            raise errors.UsernameNotOccupiedError(request=None)
        assert isinstance(target, types.PeerChannel)
        if target.channel_id not in self.cached_ids:
            raise ValueError(f"Could not find the input entity for {target!r}")
        return self.channels[target.channel_id].entity()

    async def get_dialogs(self):
        self.dialogs_loaded += 1
        self.cached_ids = set(self.channels)
        return []

    async def __call__(self, request):
        self.calls.append(request)
        self._maybe_fail(type(request).__name__)
        if isinstance(request, functions.channels.GetFullChannelRequest):
            c = self.channels[request.channel.id]
            full = types.ChannelFull(
                id=c.id, about="", read_inbox_max_id=0, read_outbox_max_id=0, unread_count=0,
                chat_photo=types.PhotoEmpty(id=0), notify_settings=types.PeerNotifySettings(), bot_info=[], pts=1,
                participants_count=c.participants, can_view_stats=c.can_view_stats)
            return types.messages.ChatFull(full_chat=full, chats=[c.entity()], users=[])
        if isinstance(request, functions.messages.GetMessagesViewsRequest):
            assert len(request.id) <= 100
            c = self.channels[request.peer.id]
            out = []
            for mid in request.id:
                v, f, r = c.views.get(mid, (None, None, None))
                out.append(types.MessageViews(
                    views=v, forwards=f,
                    replies=types.MessageReplies(replies=r, replies_pts=1) if r is not None else None))
            return types.messages.MessageViews(views=out, chats=[], users=[])
        if isinstance(request, functions.messages.GetMessagesReactionsRequest):
            c = self.channels[request.peer.id]
            ups = [types.UpdateMessageReactions(peer=types.PeerChannel(c.id), msg_id=mid, reactions=c.reactions[mid])
                   for mid in request.id if mid in c.reactions]
            return types.Updates(updates=ups, users=[], chats=[], date=datetime(2025, 3, 10, tzinfo=UTC), seq=0)
        if isinstance(request, functions.stats.GetBroadcastStatsRequest):
            return broadcast_stats(self.channels[request.channel.id].followers_graph)
        if isinstance(request, functions.stats.LoadAsyncGraphRequest):
            for c in self.channels.values():
                if request.token in c.async_graphs:
                    return c.async_graphs[request.token]
            raise errors.GraphInvalidReloadError(request=request)
        raise AssertionError(f"unexpected request {request!r}")

    async def iter_messages(self, entity, min_id=0, reverse=False):
        self.iter_calls.append((entity.id, min_id, reverse))
        assert reverse, "the poller walks forward from min_id"
        c = self.channels[entity.id]
        yielded = 0
        for m in sorted(c.messages, key=lambda m: m.id if isinstance(m.id, int) else 0):
            if isinstance(m.id, int) and m.id <= min_id:
                continue
            if self.fail_iter_after is not None and yielded == self.fail_iter_after:
                self.fail_iter_after = None
                self._maybe_fail("iter_messages")
            yielded += 1
            yield m
        self._maybe_fail("iter_messages")


# -- message builders ---------------------------------------------------------------------------------------

def at(minutes_ago: float) -> datetime:
    return (NOW - timedelta(minutes=minutes_ago)).replace(tzinfo=UTC)


def msg(mid, minutes_ago=30.0, text="hello", channel=CID, **kw) -> types.Message:
    return types.Message(id=mid, peer_id=types.PeerChannel(channel), date=kw.pop("date", at(minutes_ago)),
                         message=text, post=True, **kw)


def photo() -> types.MessageMediaPhoto:
    return types.MessageMediaPhoto(photo=types.Photo(
        id=7, access_hash=1, file_reference=b"", date=at(60), sizes=[], dc_id=2))


def document(*attributes, mime="application/octet-stream", **flags) -> types.MessageMediaDocument:
    return types.MessageMediaDocument(document=types.Document(
        id=8, access_hash=1, file_reference=b"", date=at(60), mime_type=mime, size=10, dc_id=2,
        attributes=list(attributes)), **flags)


def poll_media() -> types.MessageMediaPoll:
    q = types.TextWithEntities(text="?", entities=[])
    return types.MessageMediaPoll(
        poll=types.Poll(id=1, question=q, answers=[types.PollAnswer(text=q, option=b"0")], hash=0),
        results=types.PollResults())
