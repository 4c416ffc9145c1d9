// Package slackfake is a local fake of Slack for tests: the Web API
// methods Parley's Slack adapter calls, Socket Mode over a real local
// WebSocket, and builders for the payloads Slack sends to an app (Events
// API callbacks, button clicks, slash commands) with their signatures.
//
// It is built on slack-go's slacktest server (slacktest.NewTestServer,
// with this package's handlers bound through its Customize hook) and adds
// what slacktest lacks: state (posted messages, their updates and
// threads, users), a record of every call, token checks, injected faults,
// latency, and the Socket Mode envelope protocol with acknowledgements.
//
// A test points the real slack-go client at the fake:
//
//	s := slackfake.New()
//	defer s.Close()
//	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(s.APIURL()))
//
// and for Socket Mode adds slack.OptionAppLevelToken(slackfake.AppToken)
// and runs socketmode.New(api).
//
// # Web API
//
// Implemented methods: auth.test, chat.postMessage, chat.update,
// chat.postEphemeral, conversations.replies, users.info,
// users.lookupByEmail and apps.connections.open. Every other method
// (including those slacktest would answer with canned data that does not
// match this fake's state) is recorded and answered
// {"ok":false,"error":"unknown_method"}, so a test sees at once that the
// code under test called something the fake does not model.
//
// The bot user (BotUserID) is known from the start; AddUser adds people.
// Posted, Ephemerals, Calls and the Wait methods (WaitPosted, WaitCalls,
// WaitPending) show what the code under test did. AddMessage puts a
// person's message in a channel's history, so that conversations.replies
// answers a thread with its parent, as Slack does.
//
// Requests are read as Slack reads them: form-encoded bodies (what
// slack-go sends for nearly every method) or JSON bodies (what it sends
// for apps.connections.open), with the token in the Authorization header
// ("Bearer ...") or in the "token" form field. Bot methods take BotToken;
// apps.connections.open takes AppToken, in the header only, as Slack
// documents. A missing token is answered not_authed, the other token kind
// not_allowed_token_type, any other token invalid_auth.
//
// Message timestamps come from a counter, not the clock: the n-th
// timestamp is 1700000000 seconds plus n*100 microseconds, formatted as
// Slack does ("1700000000.000100"), so tests are deterministic.
//
// # Faults
//
// Fail queues faults for the next calls of a method; each call takes the
// first queued fault, if any, before it is handled. See FaultKind for
// what each kind does and how slack-go reports it.
//
// # Socket Mode
//
// apps.connections.open answers a ws:// URL on this server with a
// single-use ticket, so a client that lost its connection must call
// apps.connections.open again, as with Slack. On connect the fake sends
// Slack's hello message and then WebSocket pings, at once and every
// DefaultPingInterval (see SetPingInterval): slack-go's client drops a
// connection that has not been pinged for 30 seconds. SendEnvelope delivers an envelope to the newest connection;
// WaitAck waits for the client's acknowledgement. The fake does not
// redeliver unacknowledged envelopes by itself; RetryEnvelope does it on
// demand, with retry_attempt incremented, as Slack does after a timeout.
//
// # Concurrency
//
// A Server is safe for concurrent use. Its methods return copies: a test
// may keep and change what they return.
package slackfake
