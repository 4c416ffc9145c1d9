package crmtest_test

import (
	"testing"
	"time"

	"github.com/parley-chat/parley/crm/crmtest"
)

func TestMemoryActivity(t *testing.T) {
	crmtest.RunActivity(t, func(t *testing.T, now func() time.Time) crmtest.ActivityStore {
		return crmtest.NewMemory(crmtest.WithClock(now))
	})
}
