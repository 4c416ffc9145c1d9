// Package knowledge is Parley's knowledge base: the articles the bot
// answers from, the built-in set for the online store, and retrieval over
// them.
//
// An article is a Markdown file with YAML front matter (see Load for the
// format). Its short Answer is what the bot says in chat; it may hold
// {placeholder}s, filled by Article.Render from entities and slots
// (a missing value is a *MissingValueError naming what to ask for). The
// Body is the full text, shown on request and indexed for retrieval.
//
// Load reads a directory of articles into an immutable *Base, reporting
// every problem of every file at once (ParseErrors, each a *ParseError
// with file and line) so an author can fix everything in one go; Check
// adds coverage warnings against the intents that need answers. Builtin
// returns the embedded knowledge base written for Parley's store.
//
// An Index ranks articles for a query: BM25F over title, tags,
// questions, answer and body (Porter-stemmed, case-folded terms), the
// cosine between sentence embeddings from an injected Embedder, or a
// fusion of the two (Hybrid). A filter restricts a search, e.g. to the
// articles of the predicted intent, without changing the scores.
//
// Evaluate measures Recall@k and MRR over a labelled question set
// (LoadQuestions, ParseQuestions), such as the built-in one
// (BuiltinQuestions), whose DEV part chose the defaults in
// DefaultIndexConfig and whose TEST part only reports.
//
// A Base and an Index are immutable after construction and safe for
// concurrent use. Nothing here panics on input: articles, question files
// and queries are untrusted and bounded, and the parser is fuzzed.
package knowledge
