package slackfake_test

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/parley-chat/parley/bot/slackbot/slackfake"
)

// BenchmarkPostMessage is one chat.postMessage through slack-go and the
// fake over loopback HTTP: the floor under any Slack adapter test.
func BenchmarkPostMessage(b *testing.B) {
	s := mustServer(b)
	api := botClient(s)
	ctx := context.Background()
	opt := slack.MsgOptionText("Your order shipped yesterday.", false)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := api.PostMessageContext(ctx, "C1", opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPostMessageParallel posts from several goroutines at once.
func BenchmarkPostMessageParallel(b *testing.B) {
	s := mustServer(b)
	api := botClient(s)
	opt := slack.MsgOptionText("Your order shipped yesterday.", false)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := api.PostMessageContext(context.Background(), "C1", opt); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPostMessageLatency shows SetLatency at work: each op should
// take the latency plus BenchmarkPostMessage's time.
func BenchmarkPostMessageLatency(b *testing.B) {
	s := mustServer(b)
	s.SetLatency(2 * time.Millisecond)
	api := botClient(s)
	opt := slack.MsgOptionText("Your order shipped yesterday.", false)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := api.PostMessageContext(context.Background(), "C1", opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelopeRoundTrip is one events_api envelope to a real
// socketmode client, parsed and acked, until the fake has the ack.
func BenchmarkEnvelopeRoundTrip(b *testing.B) {
	s := mustServer(b)
	client := runSocketClient(b, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case evt := <-client.Events:
				if evt.Request != nil && evt.Type == socketmode.EventTypeEventsAPI {
					_ = client.AckCtx(ctx, evt.Request.EnvelopeID, nil)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	if err := s.WaitSocket(waitCtx(b)); err != nil {
		b.Fatal(err)
	}
	payload := slackfake.EventCallback("Ev1", slackfake.MessageEvent("U1", "D1", "im", "where is my order?", "1700000001.000100", ""))
	b.ReportAllocs()
	for b.Loop() {
		id, err := s.SendEnvelope(slackfake.EnvelopeEventsAPI, payload)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WaitAck(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}
