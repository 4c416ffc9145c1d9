package conversion_test

import (
	"context"
	"fmt"

	"github.com/parley-chat/parley/crm/conversion"
)

// The lead-scoring job: a labelled snapshot as of a past cut-off, a
// model fitted and checked on held-out customers, then today's scores and
// what drove one of them.
func Example() {
	ctx := context.Background()
	src := ruleSource(4000, 50) // a crm.Store in production

	d, _, err := conversion.Snapshot(ctx, src, asOf, 30*day, conversion.DefaultIntents)
	if err != nil {
		fmt.Println(err)
		return
	}
	train, test, err := conversion.StratifiedSplit(d, 0.2, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, err := conversion.DefaultGBT().Fit(ctx, train, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := conversion.Evaluate(m, test)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("held out: %d customers, AUC %.2f\n", r.Examples, r.AUC)

	scores, err := conversion.ScoreCustomers(ctx, src, m, asOf.Add(30*day))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("scored %d customers\n", len(scores))

	top := m.Explain(test.X[0])[0]
	fmt.Printf("first held-out customer's score moved most by %s\n", top.Feature)
	// Output:
	// held out: 800 customers, AUC 1.00
	// scored 4000 customers
	// first held-out customer's score moved most by intent_share:price_question
}
