"""Errors a caller can act on; the gRPC layer maps each to its status code."""

from __future__ import annotations

import grpc


class ReviewError(Exception):
    code = grpc.StatusCode.UNKNOWN


class NotFound(ReviewError):
    code = grpc.StatusCode.NOT_FOUND


class InvalidArgument(ReviewError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class FailedPrecondition(ReviewError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class PermissionDenied(ReviewError):
    code = grpc.StatusCode.PERMISSION_DENIED
