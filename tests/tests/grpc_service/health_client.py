#!/usr/bin/env python3
"""The gRPC health service seen by grpcio-health-checking, a client the project did not
write (tests/tests/grpc_service/health.rs runs it).

    health_client.py ADDRESS check SERVICE   # the status name, or ERROR <code>
    health_client.py ADDRESS list            # {"service": "STATUS", ...} as JSON, sorted
    health_client.py ADDRESS watch SERVICE   # one status name a line, as they come
"""
import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def name(status):
    return health_pb2.HealthCheckResponse.ServingStatus.Name(status)


def main():
    address, command, *args = sys.argv[1:]
    stub = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))
    try:
        if command == "check":
            request = health_pb2.HealthCheckRequest(service=args[0])
            print(name(stub.Check(request, timeout=10).status))
        elif command == "list":
            response = stub.List(health_pb2.HealthListRequest(), timeout=10)
            statuses = {k: name(v.status) for k, v in sorted(response.statuses.items())}
            print(json.dumps(statuses))
        elif command == "watch":
            request = health_pb2.HealthCheckRequest(service=args[0])
            for response in stub.Watch(request):
                print(name(response.status), flush=True)
            print("END", flush=True)
        else:
            sys.exit(f"unknown command {command}")
    except grpc.RpcError as error:
        print("ERROR", error.code().name, flush=True)


if __name__ == "__main__":
    main()
