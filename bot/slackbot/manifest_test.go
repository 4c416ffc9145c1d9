package slackbot

import (
	"os"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"
)

// The manifest asks for what the app uses: the events it handles, the
// scopes its Web API calls need, interactivity and Socket Mode.
func TestManifest(t *testing.T) {
	b, err := os.ReadFile("manifest.yml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				Bot []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("manifest.yml: %v", err)
	}
	for _, s := range []string{"chat:write", "app_mentions:read", "im:history", "channels:history", "users:read", "users:read.email", "commands"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("manifest lacks the bot scope %s", s)
		}
	}
	for _, e := range []string{"app_mention", "message.im", "message.channels"} {
		if !slices.Contains(m.Settings.Events.Bot, e) {
			t.Errorf("manifest does not subscribe to %s", e)
		}
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("manifest: interactivity %v, socket mode %v; want both on", m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
}
