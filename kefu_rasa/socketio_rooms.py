"""socket.io rooms shared by every Rasa server, through Redis (KEFU_SOCKETIO_REDIS_URL).

python-socketio keeps a server's rooms in its own process: with two Rasa servers, a push that
reaches the server the customer is not connected to is saved in the tracker and emitted into an
empty room. With python-socketio's AsyncRedisManager every emit is published on one Redis channel
and each server emits it to the members it has, so a message reaches the customer once, whichever
server took the push. Engine.IO sessions stay per process: a long-polling client's requests must
still reach one server (deploy/nginx/kefu.conf hashes on the session id).

What differs from the stock manager:
- messages travel as JSON and only JSON is read back (the stock one unpickles whatever arrives on
  the channel: whoever could publish on Redis could run code in Rasa);
- a publish that fails raises, so the push fails and the console's outbox tries again (the stock
  one logs "giving up" and the push answers 200, delivered nowhere);
- the subscription starts with the server, not at its first socket connection, so nothing
  published while a server's first customer joins is missed.
"""
from __future__ import annotations

import json
import logging

from redis.exceptions import RedisError
from socketio import AsyncRedisManager

logger = logging.getLogger(__name__)
CHANNEL = "kefu-socketio"  # every Rasa server of one deployment: the same


class SharedRooms(AsyncRedisManager):
    async def _publish(self, data):
        message = json.dumps(data)  # a payload that is not JSON fails the push here, loudly
        try:
            return await self.redis.publish(self.channel, message)
        except RedisError:
            logger.warning("socket.io: publishing on Redis failed; trying once more")
            return await self.redis.publish(self.channel, message)  # a second failure fails the push

    async def _listen(self):
        async for message in super()._listen():
            try:
                data = json.loads(message)
            except (TypeError, ValueError):
                data = None
            if isinstance(data, dict):
                yield data  # the stock loop takes a dict as it is: nothing is unpickled
            else:
                logger.warning("socket.io: ignored a message on Redis channel %s that is not JSON", self.channel)


def share_rooms(sio, blueprint, redis_url: str) -> SharedRooms:
    """Give `sio` (Rasa's AsyncServer, made in SocketIOInput.blueprint before any client connected)
    the Redis manager, subscribed as soon as the server starts."""
    manager = SharedRooms(redis_url, channel=CHANNEL)
    sio.manager = manager
    manager.set_server(sio)

    @blueprint.listener("after_server_start")
    async def subscribe(app, loop) -> None:
        if not sio.manager_initialized:
            sio.manager_initialized = True
            manager.initialize()
            logger.info("socket.io: listening on Redis channel %s", CHANNEL)

    logger.info("socket.io: rooms shared through Redis channel %s", CHANNEL)  # never the URL: it may hold a password
    return manager
