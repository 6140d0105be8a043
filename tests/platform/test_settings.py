from finops.settings import _celery_broker


def test_a_unix_socket_redis_url_becomes_kombus_socket_transport():
    assert _celery_broker("unix:///tmp/x/redis.socket?db=3") == "redis+socket:///tmp/x/redis.socket?virtual_host=3"
    assert _celery_broker("unix:///tmp/x/redis.socket") == "redis+socket:///tmp/x/redis.socket?virtual_host=0"
    assert _celery_broker("redis://127.0.0.1:6379/2") == "redis://127.0.0.1:6379/2"
