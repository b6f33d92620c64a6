"""CAPTION_LAB_STUDENT_CODE: who may have their own code run on this server."""
import pytest

from explorer.code_access import decide, is_loopback, sources


@pytest.mark.parametrize("ip, local", [(None, True), ("127.0.0.1", True), ("::1", True),
                                       ("::ffff:127.0.0.1", True), ("10.0.0.7", False),
                                       ("::ffff:192.168.1.20", False), ("not an address", False)])
def test_only_the_loopback_address_is_local(ip, local):
    assert is_loopback(ip) == local
    assert decide("local", ip, {}).allowed == local


def test_a_request_forwarded_by_a_proxy_is_not_local():
    assert not decide("local", "127.0.0.1", {"X-Forwarded-For": "10.0.0.7"}).allowed
    assert not decide("local", "127.0.0.1", {"x-real-ip": "10.0.0.7"}).allowed


def test_on_lets_everyone_in_off_and_nonsense_let_nobody():
    assert decide("on", "10.0.0.7", {"X-Forwarded-For": "x"}).allowed
    assert not decide("off", None, {}).allowed
    refused = decide("yes please", None, {})
    assert not refused.allowed and "not one of local, on, off" in refused.reason


@pytest.mark.parametrize("ip, headers, offered", [
    ("127.0.0.1", {}, ("folder", "upload")),
    ("::1", {}, ("folder", "upload")),
    ("10.0.0.7", {}, ("upload",)),                                        # a student on the class network
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, ("upload",)),       # a remote browser behind the proxy
])
def test_only_a_browser_on_the_servers_machine_may_have_a_server_folder_checked(ip, headers, offered):
    assert sources(ip, headers) == offered
