"""The file-system broker of the embedded default (`make run`, the tests): kombu's, with each
message written whole before it can be seen.

kombu's transport creates the message file, then writes into it; a worker listing the folder
in between moves away an empty file, fails to decode it and stops ("Unrecoverable error:
JSONDecodeError"), which `make run` met when beat sent a task while the worker polled. Here the
message is written under a name the workers ignore, then renamed into place (atomic on one
file system). Registered for the `filesystem://` URL in eduka/celery.py; Redis, in production,
is not concerned."""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The same name as kombu's (time-ordered, then unique, then the queue), so that the
        # workers read messages in the order they were sent.
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Ends with ".partial", not ".<queue>.msg": no worker picks it up while it is written.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
