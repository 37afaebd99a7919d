// Package grpcretry runs gRPC client calls under a retry.Policy: every rule of the retry
// engine (attempt timeout, call deadline, pauses, attempt limit, budgets), its hooks for
// every attempt (otelretry's spans and metrics), plus what gRPC adds: retryable status
// codes, the server's pushback and the server-streaming commit point.
//
//	p := retry.MustNew(
//		retry.MaxTries(4),
//		retry.AttemptTimeout(300*time.Millisecond),
//		retry.Deadline(2*time.Second),
//		retry.PauseWith(retry.FullJitter(retry.Exponential(50*time.Millisecond, 2, time.Second))),
//	)
//	cc, err := grpc.NewClient(target,
//		grpc.WithTransportCredentials(insecure.NewCredentials()),
//		grpc.WithDisableRetry(), // gRPC's own retries would multiply with these
//		grpc.WithUnaryInterceptor(grpcretry.UnaryClientInterceptor(p)),
//		grpc.WithStreamInterceptor(grpcretry.StreamClientInterceptor(p)),
//	)
//
// Dial with grpc.WithDisableRetry(): see "gRPC's own retries" below.
//
// # What is retried
//
// A failed attempt is retried, if the policy allows another, when its status code is one
// of Codes (by default Unavailable alone) or when it ended with DeadlineExceeded because
// its own timeout (retry.AttemptTimeout) fired. Whether the attempt's timeout caused a
// DeadlineExceeded is decided by the attempt's deadline, not only by its context's error:
// with the deadline propagated, the server's DeadlineExceeded can arrive before the
// client's context reports its expiry. A DeadlineExceeded or Canceled that the server
// sent of its own accord is not retried unless listed in Codes. Any other code ends the
// call at once (outcome Permanent). The caller's cancellation ends the call as Canceled,
// the call's deadline (the caller's or retry.Deadline) as Deadline. The policy's own
// filters (retry.On, retry.If...) apply on top: an error they reject is not retried.
//
// Resends carry the number of attempts made before them in their outgoing metadata,
// under the key "x-retry-attempt" (see AttemptMetadata): "1" on the first retry.
//
// # Server pushback
//
// A server that answers with a retryable code may set the trailer
// grpc-retry-pushback-ms (gRFC A6). A non-negative integer is the attempt's delay hint:
// the pause before the next attempt is then at least that many milliseconds (the
// policy's pause if longer: gRFC A6 says exactly that many), and, as any pause, never
// slept past the call's deadline. A negative or malformed value, or more than one, ends
// the call at once (outcome Permanent), as gRPC does.
//
// # Errors
//
// A failed call returns an error that works with package status as any gRPC error:
// status.Code and status.FromError give the last attempt's code and exactly its message.
// When the call ended on the caller's cancellation or on a deadline while the last
// attempt had failed for another reason (during a pause, before any attempt, or because
// the next pause would have overrun the deadline), the code is Canceled or
// DeadlineExceeded, as gRPC reports such calls. The error also unwraps to the engine's
// *retry.Error: errors.As finds it (Outcome, Attempts, Last) and errors.Is matches its
// sentinels (retry.ErrExhausted, retry.ErrPermanent, context.Canceled...).
//
// The attempt errors the hooks see (hooks.Attempt.Err, retry.Error.Last) keep their
// status too, and have an ErrorType method that names their code as the gRPC
// specification spells it ("UNAVAILABLE", "RESOURCE_EXHAUSTED"): otelretry records it
// as error.type.
//
// # Streams
//
// A server-streaming call (the client sends one message) is retried until its first
// response message has arrived. The attempts run in the application's first RecvMsg
// (Recv of the generated client), which returns that first message as if there had been
// a single attempt; an error that ends the call before it, including one that gRPC would
// have returned from NewStream, is returned there too. retry.AttemptTimeout bounds each
// attempt up to its first message. Once it has arrived the stream is committed: its
// messages and its error reach the application unchanged, never retried, and the rest
// of the stream is bounded by the caller's context and the policy's Deadline (reaching
// it ends the stream with DeadlineExceeded). An application that calls Header before
// the first Recv commits the stream once the header has arrived, gRPC's own commit rule.
//
// Client-streaming and bidirectional calls are passed through: the application's
// messages cannot be replayed, so they get one attempt, made under the policy all the
// same (its hooks, spans and metrics see it) and bounded by the policy's Deadline.
//
// As for any gRPC stream, the application must read a stream to its end or cancel its
// context; then no goroutine and no stream of the interceptor outlives the call.
//
// # Hedging
//
// With a policy that hedges (retry.HedgeAfter, retry.HedgeAtQuantile), unary calls are
// hedged: when an attempt has no answer after the hedge delay, another starts while it
// runs, the first success is the call's, and the other attempts are canceled. An
// interceptor hedges every unary call it sees: give a hedging policy only to the
// interceptor of a connection whose unary methods are idempotent.
//
// Attempts that run at the same time share nothing gRPC writes into. Each unmarshals its
// answer into a new message of the reply's type (a new protocol buffer message; for
// another codec, a new value of the type the reply points to), and the winner's is
// copied into the caller's reply: for a protocol buffer by proto.Reset and proto.Merge,
// which leaves exactly the server's message, as an unhedged call does. The variables of
// grpc.Header, grpc.Trailer and grpc.Peer receive the winner's values, or when the call
// fails those of the attempt whose status it returns. Call options that call back, such
// as grpc.OnFinish, run once per attempt, perhaps at the same time. The attempt metadata
// of a hedge counts the attempts started before it, as for a resend.
//
// Streams are not hedged: a server-streaming call under a hedging policy is retried until
// its first message as under the same policy without its hedge option (retry.NoHedge),
// since overlapping attempts would each need a stream of their own, and client and
// bidirectional streams pass through as always.
//
// # Operation name
//
// The hooks (span names, the retry.operation.name attribute) see the policy's Name if
// it has one, else the full method, "/grpc.health.v1.Health/Check". Per-method
// policies are derived once per method and cached, not built per call.
//
// # Telemetry
//
// With otelretry's hooks on the policy and otelgrpc.NewClientHandler as the stats
// handler, each call is a "retry <op>" span with an "attempt <op>" child per attempt,
// and otelgrpc's CLIENT span of each attempt under its attempt span, all in one trace.
// gRPC's own retries, by contrast, appear as sibling CLIENT spans with nothing that
// groups them into a call, and have no per-attempt timeout.
//
// # gRPC's own retries
//
// Dial with grpc.WithDisableRetry(). gRPC retries on its own whenever the channel's
// service config has a retryPolicy, and the service config may come from the name
// resolver (DNS TXT records, xDS), chosen by whoever runs the server. Those retries run
// inside each attempt of this package and multiply with them: with MaxTries(3) and a
// service config of maxAttempts 3 on UNAVAILABLE (initialBackoff 0.1s, multiplier 2),
// a server that is down receives 9 calls instead of 3, and the call takes 0.9s to
// 1.3s instead of the 0.2s of its own two pauses of 100ms, since every attempt also
// sleeps gRPC's jittered backoffs; an AttemptTimeout then bounds gRPC's attempts
// together, not each.
// gRPC's transparent retries of streams that never reached the server stay on either
// way, and are harmless.
package grpcretry
