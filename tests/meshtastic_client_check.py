#!/usr/bin/env python3
"""Independent check of okmesh's Meshtastic device emulator with the official
Python client (`pip install meshtastic`, its TCPInterface).

Run by tests/it/meshtastic_client.rs:

    meshtastic_client_check.py HOST PORT OKMESH_NODE_NUM

HOST:PORT is an emulated device; an okmesh node runs on another emulated
device of the same air with background chat traffic of 40-byte frames. The
script:

1. connects with TCPInterface, which performs the full config handshake
   (it raises unless MyInfo, NodeInfos, channels, config and
   config_complete_id arrive);
2. waits for at least 3 PRIVATE_APP packets from the okmesh node and checks
   they are okmesh chat frames (wire version 1, kind 1, 40 bytes);
3. broadcasts 5 okmesh chat frames on PRIVATE_APP (sequence numbers
   1000..1004), for the okmesh node to receive;
4. sends one 232-byte PRIVATE_APP packet with want_ack and expects a Routing
   NAK with error TOO_LARGE (okmesh's payload limit is 231 bytes);
5. sends one chat frame directly to the okmesh node with want_ack and expects
   a Routing ACK.

It prints one JSON line with what it saw and exits 0 only if every step
passed.
"""

import json
import sys
import threading
import time

from pubsub import pub
from meshtastic.tcp_interface import TCPInterface
from meshtastic.protobuf import portnums_pb2

PRIVATE_APP = portnums_pb2.PortNum.PRIVATE_APP


def chat_frame(seq: int, size: int = 40) -> bytes:
    body = bytes([1, 1]) + seq.to_bytes(4, "little")
    return body + bytes(size - len(body))


def wait_for(pred, timeout_s: float) -> bool:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def routing_reply(iface, payload: bytes, **send_args):
    """Sends `payload` on PRIVATE_APP with want_ack and waits up to 10 s for
    the Routing reply: its errorReason ("NONE" for an ACK), or None."""
    replies = []
    iface.sendData(
        payload,
        portNum=PRIVATE_APP,
        wantAck=True,
        onResponse=lambda p: replies.append(p["decoded"].get("routing", {}).get("errorReason", "NONE")),
        **send_args,
    )
    return replies[0] if wait_for(lambda: replies, 10) else None


def main() -> int:
    host, port, okmesh_node = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    result = {"ok": False, "step": "connect"}
    received = []
    lock = threading.Lock()

    def on_receive(packet, interface):  # noqa: ARG001 (pubsub signature)
        decoded = packet.get("decoded", {})
        if decoded.get("portnum") == "PRIVATE_APP" and packet.get("from") == okmesh_node:
            with lock:
                received.append(bytes(decoded["payload"]))

    pub.subscribe(on_receive, "meshtastic.receive")
    iface = TCPInterface(hostname=host, portNumber=port, timeout=20)
    try:
        result["my_node_num"] = iface.myInfo.my_node_num
        result["nodes"] = sorted(n["num"] for n in iface.nodesByNum.values())
        result["channels"] = len(iface.localNode.channels or [])
        result["hop_limit_config"] = iface.localNode.localConfig.lora.hop_limit

        result["step"] = "receive"
        if not wait_for(lambda: len(received) >= 3, 30):
            result["received"] = len(received)
            return finish(result)
        with lock:
            frames = list(received)
        result["received"] = len(frames)
        if not all(len(f) == 40 and f[0] == 1 and f[1] == 1 for f in frames):
            result["bad_frames"] = [f.hex() for f in frames[:3]]
            return finish(result)

        result["step"] = "send"
        for seq in range(1000, 1005):
            iface.sendData(chat_frame(seq), portNum=PRIVATE_APP, wantAck=False)

        for step, key, payload, send_args, want in [
            ("too_large", "too_large_nak", bytes(232), {}, "TOO_LARGE"),
            (
                "ack",
                "unicast_ack",
                chat_frame(2000),
                {"destinationId": okmesh_node, "onResponseAckPermitted": True},
                "NONE",
            ),
        ]:
            result["step"] = step
            reply = routing_reply(iface, payload, **send_args)
            if reply is None:
                return finish(result)
            result[key] = reply
            if reply != want:
                return finish(result)

        result["step"] = "done"
        result["ok"] = True
        return finish(result)
    finally:
        iface.close()


def finish(result) -> int:
    print(json.dumps(result), flush=True)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
