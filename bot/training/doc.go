// Package training is the engine room of the analysts' loop: the NLU
// inbox of messages the bot understood badly, analysts' labels, the
// training data (the built-in examples plus those labels) with its
// import, export and checks, retraining a new intent model version from
// it, comparing two versions, and promoting or rolling back the version
// servers use. The console and `parley` call it; it owns no HTTP and
// no flags.
//
// Everything goes through a Workbench, built on a crm.Store:
//
//	wb, err := training.New(store)
//	groups, err := wb.Review(ctx, training.ReviewOptions{})
//	_, err = wb.Label(ctx, training.LabelRequest{MessageIDs: groups[0].MessageIDs, Intent: "order_status", StaffID: me})
//	res, err := wb.Retrain(ctx, training.RetrainOptions{Progress: show})
//	cmp, err := wb.Compare(ctx, activeID, res.Version.ID)
//	err = wb.Promote(ctx, res.Version.ID)
//
// # The inbox
//
// Review lists customer messages worth an analyst's look: those whose
// intent confidence was low, those flagged out of scope, those the bot
// answered by asking (clarify), by not understanding (fallback) or by
// handing over (escalate), and the bot-handled messages of conversations
// that were escalated to a person. Messages already labelled are left
// out. Near-identical messages are grouped (see Similarity) and groups
// come largest first, so one label fixes the most conversations.
//
// # Labels never dangle
//
// A label names an intent the model knows (the built-in training data's
// intents, the intents of earlier labels, or intents.OOS), or one the
// analyst creates on purpose (LabelRequest.NewIntent); anything else is
// an *UnknownIntentError that suggests the closest known intents, and
// nothing is stored.
//
// # The training set
//
// TrainingSet is the built-in training data with the analysts' labels
// applied, oldest first: a label replaces a built-in example with the
// same normalized text, and a later label replaces an earlier one. Labels
// whose text is one of the fixed held-out (test) utterances are left out
// of training, so that the held-out metrics stay honest. Every example
// keeps its origin (built-in file and line, or label id) for reports.
//
// # Retraining
//
// Retrain trains the same kind of model as the built-in intent model
// (the ensemble with the hyperparameters recorded in its artifact
// header, today SVM + RNN), weighed and calibrated on the built-in
// validation file; measures it on the built-in test file and by k-fold
// cross-validation; and stores it as a new, inactive crm.ModelVersion.
// It never touches the active version: a run that fails or is cancelled
// stores nothing and the serving model is as it was. Runner runs one
// retraining at a time in the background with its progress, for the
// console.
//
// # Safety
//
// Workbench methods are safe for concurrent use (the store is; the
// workbench keeps no mutable state). Bad input is an error wrapping
// crm.ErrInvalid or ErrUnknownIntent, never a panic.
package training
