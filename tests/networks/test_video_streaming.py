"""Videos are sent from storage chunk by chunk, never read whole into memory.

For each network whose API takes a video in pieces (Facebook's resumable upload, YouTube's
resumable upload, LinkedIn's multipart upload, X's chunked media upload, TikTok's FILE_UPLOAD),
a file several chunks long is opened through a wrapper that counts every read: no read asks for
the whole file (``read()``), none for more than one chunk, and each request body is exactly the
chunk the network's rules (or its answer) name. A chunk that fails is sent again from the
network's offset, in the same upload. The answers are built on the recorded documentation
examples of each network's own tests (sources in the fixtures, and beside each answer here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO

import httpx
import pytest
import respx

from portevoix.networks import tiktok as tiktok_module
from portevoix.networks import x as x_module
from portevoix.networks import youtube as youtube_module
from portevoix.networks.base import MemoryJournal
from portevoix.networks.errors import OutcomeUnknown, Transient
from portevoix.networks.facebook import FacebookNetwork
from portevoix.networks.linkedin import LinkedInNetwork
from portevoix.networks.types import MediaItem, OutgoingPost
from portevoix.networks.x import XNetwork
from portevoix.networks.youtube import QuotaLedger, YouTubeNetwork

from . import test_facebook as fb
from . import test_linkedin as li
from . import test_tiktok as tt
from . import test_x as xt
from . import test_youtube as yt

MB = 1024 * 1024


class CountingFile:
    """A stored file opened for reading that remembers the size of every read."""

    def __init__(self, path: Path, reads: list[int]) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        self.reads = reads

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            raise AssertionError("the video was read whole")
        self.reads.append(size)
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoredVideo:
    """A video file on disk, and the reads made of it through ``item``."""

    def __init__(self, path: Path, size: int) -> None:
        self.content = os.urandom(size)  # distinct bytes: a wrong offset cannot match
        path.write_bytes(self.content)
        self.path = path
        self.reads: list[int] = []
        self.opened: list[CountingFile] = []

        def opener() -> IO[bytes]:
            handle = CountingFile(path, self.reads)
            self.opened.append(handle)
            return handle  # type: ignore[return-value]

        self.item = MediaItem(
            mime_type="video/mp4", filename="atelier.mp4", opener=opener, length=size
        )
        assert self.item.data == b"" and self.item.size == size

    def check_reads(self, chunk: int) -> None:
        assert self.reads, "nothing was read"
        assert max(self.reads) <= chunk, f"a read of {max(self.reads)} bytes (chunk {chunk})"
        assert all(handle.closed for handle in self.opened)


def multipart_field(content: bytes, name: str) -> bytes:
    """A field's value in a multipart body (the chunk itself for a file field)."""
    marker = f'name="{name}"'.encode()
    _head, _sep, rest = content.partition(marker)
    assert rest, f"no field {name}"
    value = rest.split(b"\r\n\r\n", 1)[1]
    boundary = content.split(b"\r\n", 1)[0]
    return value.split(b"\r\n" + boundary, 1)[0]


# -- Facebook: resumable upload, Graph names each chunk's offsets --------------------------------


def test_facebook_sends_each_chunk_graph_asks_for_from_the_file(tmp_path: Path) -> None:
    chunk = 4 * MB
    video = StoredVideo(tmp_path / "v.mp4", 3 * chunk + 12345)
    size = len(video.content)
    sent: list[tuple[int, bytes]] = []
    refused = {"once": False}

    def videos(request: httpx.Request) -> httpx.Response:
        content = request.content
        if b'name="upload_phase"' not in content:
            phase = dict(httpx.QueryParams(content.decode()))["upload_phase"]
            if phase == "start":
                # video_start.json (developers.facebook.com/docs/graph-api/video-uploads)
                body = fb.load("video_start.json")["body"]
                return httpx.Response(200, json={**body, "end_offset": str(chunk)})
            return fb.answer("video_finish.json")
        start = int(multipart_field(content, "start_offset"))
        data = multipart_field(content, "video_file_chunk")
        if start == chunk and not refused["once"]:
            # error_video_chunk_offsets.json: Graph refuses the chunk and names its offsets.
            refused["once"] = True
            error = fb.load("error_video_chunk_offsets.json")["body"]
            error["error"]["error_data"] = {"start_offset": chunk, "end_offset": 2 * chunk}
            return httpx.Response(400, json=error)
        sent.append((start, data))
        end = start + len(data)
        # video_transfer.json: the next chunk Graph asks for (an empty range at the end).
        return httpx.Response(
            200,
            json={"start_offset": str(end), "end_offset": str(min(end + chunk, size))},
        )

    with respx.mock(assert_all_called=False) as router:
        router.get(f"{fb.GRAPH}/{fb.PAGE}").mock(return_value=fb.answer("page.json"))
        network = FacebookNetwork(transport=httpx.HTTPTransport(), journal=MemoryJournal())
        network.connect(fb.CREDS)
        router.post(f"{fb.VIDEO}/{fb.PAGE}/videos").mock(side_effect=videos)
        ref = network.publish(OutgoingPost("Atelier", media=(video.item,)), idempotency_key="s")
    assert ref.post_id == "1564747010440105"
    assert refused["once"]
    assert [start for start, _ in sent] == [0, chunk, 2 * chunk, 3 * chunk]
    for start, data in sent:
        assert data == video.content[start : start + chunk]
    video.check_reads(chunk)


# -- X: chunked media upload, segments of 4 MB ---------------------------------------------------


def _command(request: httpx.Request) -> str:
    return xt._command(request)


def test_x_appends_4_mb_segments_from_the_file_and_resumes_at_the_first_unconfirmed(
    tmp_path: Path,
) -> None:
    segment = x_module._VIDEO_SEGMENT
    video = StoredVideo(tmp_path / "v.mp4", 2 * segment + 1000)
    appended: list[tuple[int, bytes]] = []
    fail = {"index": 1}

    def upload(request: httpx.Request) -> httpx.Response:
        command = _command(request)
        if command == "INIT":
            return xt.answer("video_init.json")  # docs.x.com media-upload-chunked (INIT)
        if command == "APPEND":
            index = int(multipart_field(request.content, "segment_index"))
            if index == fail["index"]:
                fail["index"] = -1
                return httpx.Response(503, json={"title": "Service Unavailable"})
            appended.append((index, multipart_field(request.content, "media")))
            return httpx.Response(204)
        return xt.answer("video_finalize_pending.json")

    with respx.mock(assert_all_called=False) as router:
        router.get(url__startswith=f"{xt.API}/2/users/me").mock(
            return_value=xt.answer("users_me.json")
        )
        network = XNetwork(timeout=2)
        network.connect(xt.CREDS)
        route = router.post(f"{xt.API}/2/media/upload").mock(side_effect=upload)
        router.get(url__startswith=f"{xt.API}/2/media/upload").mock(
            return_value=xt.answer("video_status_succeeded.json")
        )
        router.post(f"{xt.API}/2/tweets").mock(return_value=xt.answer("post_created.json"))
        post = OutgoingPost("Atelier", media=(video.item,))
        with pytest.raises(Transient):
            network.publish(post, idempotency_key="s")
        entry = network.journal.get("s#video1")
        assert entry is not None and entry["state"] == "appending" and entry["segments"] == "1"
        with pytest.raises(Transient):  # FINALIZE says "pending": processing
            network.publish(post, idempotency_key="s")
        ref = network.publish(post, idempotency_key="s")
    assert ref.post_id == "1445880548472328192"
    commands = [_command(c.request) for c in route.calls]
    assert commands.count("INIT") == 1  # the same upload, taken up again
    assert [index for index, _ in appended] == [0, 1, 2]
    for index, data in appended:
        assert data == video.content[index * segment : (index + 1) * segment]
    video.check_reads(segment)


# -- LinkedIn: multipart upload, the parts LinkedIn names ---------------------------------------


def test_linkedin_puts_each_part_from_the_file_and_resumes_at_the_first_unconfirmed(
    tmp_path: Path,
) -> None:
    part = 4 * MB  # LinkedIn's parts are 4,194,304 bytes (Videos API, multipart upload)
    video = StoredVideo(tmp_path / "v.mp4", 2 * part + 777)
    size = len(video.content)
    ranges = [(0, part - 1), (part, 2 * part - 1), (2 * part, size - 1)]
    # video_initialize.json, with one upload address per 4 MB part of this file.
    init = li.load("video_initialize.json")["body"]
    template = init["value"]["uploadInstructions"][0]["uploadUrl"]
    init["value"]["uploadInstructions"] = [
        {"uploadUrl": template.replace("/0?", f"/{n}?"), "firstByte": a, "lastByte": b}
        for n, (a, b) in enumerate(ranges)
    ]
    received: list[tuple[str, bytes]] = []
    fail = {"part": 1}

    def put(request: httpx.Request) -> httpx.Response:
        number = int(request.url.path.rsplit("/", 1)[1])
        if number == fail["part"]:
            fail["part"] = -1
            return httpx.Response(500)
        received.append((str(number), request.content))
        return httpx.Response(200, headers={"etag": f"/ambry-video/signedId/part-{number}"})

    with respx.mock(assert_all_called=False) as api:
        api.get(f"{li.API}/rest/organizations/1337").mock(
            return_value=li.answer("organization.json")
        )
        network = LinkedInNetwork(journal=MemoryJournal())
        network.connect(li.ORG)
        initialize = api.post(f"{li.API}/rest/videos", params={"action": "initializeUpload"}).mock(
            return_value=httpx.Response(200, json=init)
        )
        api.put(url__startswith="https://www.linkedin.com/dms-uploads/").mock(side_effect=put)
        finalize = api.post(f"{li.API}/rest/videos", params={"action": "finalizeUpload"}).mock(
            return_value=li.answer("video_finalized.json")
        )
        api.get(url__startswith=f"{li.API}/rest/videos/").mock(
            return_value=li.answer("video_available.json")
        )
        api.post(f"{li.API}/rest/posts").mock(return_value=li.answer("post_created.json"))
        post = OutgoingPost("Atelier", media=(video.item,))
        with pytest.raises((Transient, OutcomeUnknown)):
            network.publish(post, idempotency_key="s")
        ref = network.publish(post, idempotency_key="s")
    assert ref.post_id == li.POST_URN
    assert initialize.call_count == 1
    assert [n for n, _ in received] == ["0", "1", "2"]
    for (number, data), (first, last) in zip(received, ranges, strict=True):
        assert data == video.content[first : last + 1], number
    parts = json.loads(finalize.calls.last.request.content)["finalizeUploadRequest"]
    assert parts["uploadedPartIds"] == [f"/ambry-video/signedId/part-{n}" for n in range(3)]
    video.check_reads(part)


# -- TikTok: FILE_UPLOAD chunks of 10 MB, the last one takes the rest ---------------------------


def test_tiktok_puts_10_mb_chunks_from_the_file_and_resumes_at_the_first_unconfirmed(
    tmp_path: Path,
) -> None:
    chunk = tiktok_module.CHUNK_BYTES
    video = StoredVideo(tmp_path / "v.mp4", 3 * chunk + 4321)
    size = len(video.content)
    assert tiktok_module.chunk_plan(size) == (chunk, 3)
    received: list[tuple[str, bytes]] = []
    fail = {"range": f"bytes {chunk}-{2 * chunk - 1}/{size}"}

    def put(request: httpx.Request) -> httpx.Response:
        where = request.headers["Content-Range"]
        if where == fail["range"]:
            fail["range"] = ""
            return httpx.Response(500)
        received.append((where, request.content))
        return httpx.Response(206 if len(received) < 3 else 201)

    with respx.mock(assert_all_called=False) as api:
        api.get(f"{tt.API}/v2/user/info/").mock(return_value=tt.answer("user_info.json"))
        network = tt.make(journal=MemoryJournal())
        network.connect(tt.CREDS)
        init = api.post(tt.INIT).mock(return_value=tt.answer("video_init_file.json"))
        api.put(tt.UPLOAD).mock(side_effect=put)
        api.post(tt.STATUS).mock(return_value=tt.answer("status_complete.json"))
        item = MediaItem(
            mime_type="video/mp4",
            filename="v.mp4",
            opener=video.item.opener,
            length=size,
            public_url=tt.LOCAL_VIDEO.public_url,
        )
        post = OutgoingPost(tt.CAPTION, media=(item,))
        with pytest.raises(OutcomeUnknown):
            network.publish(post, idempotency_key="s")
        ref = network.publish(post, idempotency_key="s")
    assert ref.post_id
    assert init.call_count == 1  # never initialised again: the same publish_id
    expected = [(0, chunk - 1), (chunk, 2 * chunk - 1), (2 * chunk, size - 1)]
    assert [where for where, _ in received] == [f"bytes {a}-{b}/{size}" for a, b in expected]
    for (_, data), (first, last) in zip(received, expected, strict=True):
        assert data == video.content[first : last + 1]
    # The last chunk takes the rest (TikTok's rule); no read is larger than one chunk.
    video.check_reads(size - 2 * chunk)
    assert sorted(video.reads)[-2] <= chunk


# -- YouTube: resumable upload, 8 MB chunks; a lost chunk goes on from Google's offset ----------


@pytest.fixture
def small_youtube_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    # Google takes any multiple of 256 KiB: 1 MiB keeps this test's file small.
    monkeypatch.setattr(youtube_module, "CHUNK_BYTES", MB)
    return MB


def test_youtube_sends_chunks_from_the_file_and_goes_on_from_googles_offset(
    tmp_path: Path, small_youtube_chunks: int
) -> None:
    chunk = small_youtube_chunks
    video = StoredVideo(tmp_path / "v.mp4", 3 * chunk + 999)
    size = len(video.content)
    stored = {"upto": 0}
    received: list[tuple[str, bytes]] = []
    fail = {"first": chunk}

    def session(request: httpx.Request) -> httpx.Response:
        where = request.headers.get("Content-Range", "")
        if where == f"bytes */{size}":
            # The status query of the resumable protocol: 308 with what Google holds.
            headers = {"Range": f"bytes=0-{stored['upto'] - 1}"} if stored["upto"] else {}
            return httpx.Response(308, headers=headers)
        first = int(where.split(" ")[1].split("-")[0])
        if first == fail["first"]:
            fail["first"] = -1
            return httpx.Response(503, json=yt.load("error_backend.json")["body"])
        received.append((where, request.content))
        stored["upto"] = first + len(request.content)
        if stored["upto"] < size:
            # "308 Resume Incomplete" with the bytes received so far (resumable upload guide).
            return httpx.Response(308, headers={"Range": f"bytes=0-{stored['upto'] - 1}"})
        return yt.answer("video_uploaded.json")

    with respx.mock(assert_all_called=False) as api:
        api.get(f"{yt.API}/channels").mock(return_value=yt.answer("channels_mine.json"))
        network = YouTubeNetwork(ledger=QuotaLedger(), timeout=5)
        network.connect(yt.live_creds(audited="yes"))
        start = yt.start_upload(api)
        api.put(url__startswith=yt.SESSION).mock(side_effect=session)
        ref = network.publish(
            OutgoingPost("Le discours du PDG", media=(video.item,)), idempotency_key="s"
        )
    assert ref.post_id == "Ks-_Mh1QhMc"
    assert start.call_count == 1  # one session: one video
    firsts = [int(where.split(" ")[1].split("-")[0]) for where, _ in received]
    assert firsts == [0, chunk, 2 * chunk, 3 * chunk]
    for where, data in received:
        first = int(where.split(" ")[1].split("-")[0])
        assert data == video.content[first : first + chunk]
    video.check_reads(chunk)
