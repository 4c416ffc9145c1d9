package knowledge_test

import (
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

func ExampleArticle_Render() {
	b, err := knowledge.Builtin()
	if err != nil {
		fmt.Println(err)
		return
	}
	a, _ := b.Article("track-order")
	fmt.Println(a.Placeholders())

	// Without the order number, the error names what to ask for.
	_, err = a.Render(nil)
	var missing *knowledge.MissingValueError
	if errors.As(err, &missing) {
		fmt.Println("ask for:", missing.Names)
	}
	text, _ := a.Render(map[string]string{"order_id": "482193"})
	fmt.Println(text[:64])
	// Output:
	// [order_id]
	// ask for: [order_id]
	// You can follow order 482193 at https://shop.example/track/482193
}

func ExampleIndex_Search() {
	b, err := knowledge.Builtin()
	if err != nil {
		fmt.Println(err)
		return
	}
	// No embedder: BM25 only.
	ix, err := knowledge.NewIndex(b, nil, knowledge.DefaultIndexConfig())
	if err != nil {
		fmt.Println(err)
		return
	}
	q, _ := nlp.Parse("how do I get a label to send my shoes back")
	for _, h := range ix.Search(q, 3, nil, knowledge.BM25) {
		fmt.Println(h.Article.ID)
	}
	// Output:
	// return-label
	// exchange-item
	// cancel-shipped-order
}

func ExampleLoad() {
	fsys := fstest.MapFS{
		"kb/hours.md": {Data: []byte("---\nid: hours\ntitle: Opening hours\nintents: [opening_hours]\nanswer: We are open 8 am to 8 pm.\n---\nDetails.\n")},
		"kb/bad.md":   {Data: []byte("---\nid: Bad\ntitle: Broken\nanswer: Order {order_id\n---\n")},
	}
	_, err := knowledge.Load(fsys, "kb")
	fmt.Println(err)
	// Output:
	// kb/bad.md:2: bad id "Bad": use lowercase letters, digits and single dashes, like return-policy
	// kb/bad.md:4: field answer: at byte 6: unclosed {: write {{ for a literal brace
}
