// Errors the server sends back, in the shape of the OpenAI API:
//
//   HTTP 400  {"error": {"message": "...", "type": "invalid_request_error", "param": "top_p", "code": null}}
//
// Every problem with a request becomes an ApiError with the HTTP status it deserves; anything
// else that escapes a handler is a bug and becomes a 500 with a generic message (and a log line).

export type ErrorType = "invalid_request_error" | "not_found_error" | "rate_limit_error" | "server_error";

export class ApiError extends Error {
  /** Extra response headers (e.g. Allow on a 405). */
  headers: Record<string, string> = {};

  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: ErrorType = status === 404
      ? "not_found_error"
      : status === 429
        ? "rate_limit_error"
        : status >= 500
          ? "server_error"
          : "invalid_request_error",
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The JSON body OpenAI clients parse. */
  toBody(): { error: { message: string; type: ErrorType; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 about one field of the request body. */
export function invalidField(param: string, message: string): ApiError {
  return new ApiError(400, `${param}: ${message}`, param, "invalid_value");
}
