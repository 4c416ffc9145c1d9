package knowledge

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"sync"
)

// The built-in knowledge base is written for Parley's store (see
// ../intents/builtin/data/INTENTS.md); nothing is copied from a public
// FAQ. The question set is its labelled evaluation data, embedded so
// that `parley kb eval` runs anywhere.
//
//go:embed articles/*.md
var builtinFS embed.FS

//go:embed testdata/questions.csv
var questionsCSV []byte

// BuiltinDir is the directory of the built-in articles in BuiltinFS.
const BuiltinDir = "articles"

// BuiltinFS returns the built-in article files, under BuiltinDir (for
// Check, or to copy them as a starting point for a shop's own base).
func BuiltinFS() fs.FS { return builtinFS }

var builtin = sync.OnceValues(func() (*Base, error) {
	b, err := Load(builtinFS, BuiltinDir)
	if err != nil {
		return nil, fmt.Errorf("built-in knowledge base: %w", err)
	}
	return b, nil
})

// Builtin returns the built-in knowledge base. It is loaded once; the
// Base is immutable, so every caller shares it.
func Builtin() (*Base, error) { return builtin() }

// answerIntents are the built-in intents the bot answers with an
// article: all but the dialogue acts (greeting, thanks, goodbye, affirm,
// deny) and talk_to_human, which hands over to a person.
var answerIntents = []string{
	"order_status", "cancel_order", "change_order", "return_item", "exchange_item",
	"refund_status", "change_delivery_address", "delivery_time", "shipping_cost",
	"international_shipping", "missing_package", "damaged_item", "wrong_item",
	"payment_failed", "payment_methods", "update_payment_method", "discount_code",
	"gift_card", "reset_password", "account_locked", "delete_account",
	"update_account_details", "product_availability", "price_question", "product_info",
	"warranty", "invoice", "cancel_subscription", "newsletter_unsubscribe",
	"opening_hours", "contact_details", "complaint",
}

// AnswerIntents returns the built-in intents that need an article (32
// of the 38), for Check.
func AnswerIntents() []string { return slices.Clone(answerIntents) }

// BuiltinQuestions returns the built-in knowledge base's labelled
// question set (testdata/questions.csv): customer questions, each with
// the ID of the article that answers it and its split, "dev" (for
// choosing parameters) or "test" (for reporting only).
func BuiltinQuestions() ([]Question, error) {
	qs, err := ParseQuestions(questionsCSV, "questions.csv")
	if err != nil {
		return nil, fmt.Errorf("built-in questions: %w", err)
	}
	return qs, nil
}
