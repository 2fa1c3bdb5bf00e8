"""pg-etag: concurrent writers incrementing shared counters through both
replicas with etags (read, write with the etag, retry on ABORTED); no update
may be lost. Part of reliability/postgres.py."""
import threading
import time

import grpc

from directory_load import DirectoryLoad
from pg_replicas import channel_over, fresh_database, replicas


def etag_scenario(result, quick):
    counters, writers, increments = (4, 8, 15) if quick else (8, 16, 50)
    database = fresh_database("etag")
    instances = replicas(database, ["pg-a", "pg-b"])
    load = DirectoryLoad(channel_over([instances[0].port]), rate=1, workers=1)
    pb2, users = load.pb2, load.users
    names = [users.CreateUser(pb2.CreateUserRequest(user=pb2.User(email=f"c{n}@example.com", display_name="0")),
                              timeout=10).name for n in range(counters)]
    stubs = [DirectoryLoad(channel_over([i.port]), rate=1, workers=1).users for i in instances]
    accepted = [[0] * counters for _ in range(writers)]
    aborted, errors = [0], []
    lock = threading.Lock()

    def write(worker):
        stub = stubs[worker % 2]
        for n in range(increments):
            index = (worker + n) % counters
            for _ in range(200):  # bounded: a starved writer is an error
                try:
                    user = stub.GetUser(pb2.GetUserRequest(name=names[index]), timeout=5)
                    user.display_name = str(int(user.display_name) + 1)
                    request = pb2.UpdateUserRequest(user=user)
                    request.update_mask.paths.append("display_name")
                    stub.UpdateUser(request, timeout=5)
                    accepted[worker][index] += 1
                    break
                except grpc.RpcError as error:
                    with lock:
                        if error.code() == grpc.StatusCode.ABORTED:
                            aborted[0] += 1
                        else:
                            errors.append(f"{error.code().name}: {error.details()}")
                            return
            else:
                errors.append(f"writer {worker} starved")
                return

    began = time.monotonic()
    threads = [threading.Thread(target=write, args=(w,), daemon=True) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    took = time.monotonic() - began
    finals = [int(users.GetUser(pb2.GetUserRequest(name=name), timeout=10).display_name) for name in names]
    sums = [sum(accepted[w][i] for w in range(writers)) for i in range(counters)]
    result.sent = sum(sums) + aborted[0]
    result.failed = len(errors)
    result.memory = "n/a"
    result.note(f"{sum(sums)} updates accepted, {aborted[0]} ABORTED (stale etag, retried) in {took:.1f} s")
    result.check(f"no errors but ABORTED ({errors[:3]})", not errors)
    result.check(f"no lost update: final counters {finals} equal the accepted updates {sums}", finals == sums)
    result.check("every writer finished", all(not t.is_alive() for t in threads))
