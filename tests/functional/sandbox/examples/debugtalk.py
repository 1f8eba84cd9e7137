"""Equivalents of HttpRunner 3.1.11's example debugtalk.py functions (signing, hooks that
change the request and read the response, functions returning variables and parameters,
a custom comparator), as a project would save it."""
import hashlib
import hmac

SECRET_KEY = "DebugTalk"


def get_sign(*args):
    content = "".join(str(arg) for arg in args).encode("utf-8")
    return hmac.new(SECRET_KEY.encode(), content, hashlib.sha1).hexdigest()


def sum_two(m, n):
    return m + n


def get_config_variables():
    return {"device_sn": "FwgRiO7CNA50DSU", "os_platform": "ios", "app_version": "2.8.6"}


def get_accounts():
    return [{"username": "user1", "password": "111111"},
            {"username": "user2", "password": "222222"}]


def get_user_agents():
    return ["iOS/10.1", "iOS/10.2"]


def setup_hook_sign_request(request):
    # signs the body the step will send, as HttpRunner's setup_hook_prepare_kwargs examples do
    request["headers"]["X-Sign"] = get_sign(request["method"], request["json"]["n"])
    request["json"]["signed"] = True


def teardown_hook_alter_response(response):
    # HttpRunner's alter_response: teardown hooks may change what validate reads
    response.status_code = 299
    response.headers["Content-Type"] = "html/text"
    response.body["json"]["seen_by_hook"] = True


def response_number_doubled(response):
    return response.body["json"]["n"] * 2


def is_even(check_value, expect_value):
    assert (check_value % 2 == 0) == expect_value, f"{check_value} is not even"
