package demo

// The shop's data: names, a catalogue, what the bot says, and a tiny set
// of customer messages for when the caller gives none. Everything here
// is written for Parley; the people are made up and their emails use
// example.com (reserved for examples, RFC 2606).

var firstNames = []string{
	"Maria", "James", "Aisha", "Lukas", "Sofia", "Daniel", "Mei", "Omar", "Emma", "Noah",
	"Priya", "Mateo", "Chloe", "Kwame", "Hannah", "Yusuf", "Elena", "Liam", "Fatima", "Jonas",
	"Olivia", "Ravi", "Isabel", "Tomasz", "Grace", "Diego", "Amara", "Felix", "Leila", "Oscar",
	"Nora", "Hiroshi", "Alice", "Samuel", "Zara", "Marco", "Ingrid", "Kofi", "Julia", "Arjun",
}

var lastNames = []string{
	"Ferri", "Okoye", "Hoffmann", "Novak", "Silva", "Chen", "Haddad", "Murphy", "Kowalski", "Garcia",
	"Mensah", "Larsen", "Patel", "Rossi", "Dubois", "Nakamura", "Schmidt", "Oyelaran", "Moreau", "Jensen",
	"Santos", "Kaya", "Brennan", "Lindqvist", "Costa", "Ahmed", "Fischer", "Walsh", "Romero", "Berg",
}

// item is something the shop sells, with its price range.
type item struct {
	name, category string
	lo, hi         float64
}

var catalogue = []item{
	{"Merino crew-neck jumper", "clothing", 45, 79},
	{"Slim-fit chinos", "clothing", 39, 59},
	{"Linen shirt", "clothing", 35, 55},
	{"Rain jacket", "clothing", 69, 129},
	{"Wool scarf", "clothing", 19, 35},
	{"Denim jacket", "clothing", 59, 89},
	{"Cotton T-shirt (3-pack)", "clothing", 19, 29},
	{"Leather Chelsea boots", "shoes", 89, 149},
	{"Running shoes", "shoes", 59, 119},
	{"Canvas trainers", "shoes", 35, 55},
	{"Wool slippers", "shoes", 25, 39},
	{"Linen throw", "home", 39, 69},
	{"Glass teapot", "home", 19, 29},
	{"Ceramic dinner set", "home", 59, 99},
	{"Blackout curtains", "home", 35, 65},
	{"Scented candle set", "home", 15, 25},
	{"Cotton bed linen set", "home", 45, 89},
	{"Table lamp", "home", 39, 79},
	{"Wireless over-ear headphones", "electronics", 79, 199},
	{"Bluetooth speaker", "electronics", 39, 99},
	{"Smart plug (2-pack)", "electronics", 19, 29},
	{"USB-C charger", "electronics", 15, 35},
	{"Fitness tracker", "electronics", 49, 129},
	{"E-reader", "electronics", 99, 149},
}

// membership is the paid Plus subscription, recorded as a signup.
var membership = item{"Plus membership (12 months)", "membership", 49, 49}

// Currency of every order.
const currency = "EUR"

// Intent groups: what a customer's conversation is about. The names are
// Parley's built-in intents; intents the caller's utterances lack are
// left out of their group.
var (
	purchaseIntents = []string{
		"product_availability", "price_question", "product_info", "discount_code",
		"payment_methods", "shipping_cost", "delivery_time", "international_shipping", "gift_card",
	}
	supportIntents = []string{
		"order_status", "change_order", "cancel_order", "change_delivery_address",
		"return_item", "exchange_item", "invoice", "refund_status",
	}
	problemIntents = []string{
		"complaint", "damaged_item", "wrong_item", "missing_package", "payment_failed",
		"refund_status", "talk_to_human", "warranty",
	}
	accountIntents = []string{
		"reset_password", "account_locked", "update_account_details", "update_payment_method",
		"delete_account", "newsletter_unsubscribe", "cancel_subscription", "opening_hours", "contact_details",
	}
)

// Small-talk and answer intents that open, continue or close a
// conversation, and the out-of-scope label.
const (
	intentGreeting = "greeting"
	intentThanks   = "thanks"
	intentGoodbye  = "goodbye"
	intentAffirm   = "affirm"
	intentDeny     = "deny"
	intentHuman    = "talk_to_human"
	intentOOS      = "oos"
)

// negativeIntents are about something that went wrong: their messages
// lean negative whoever writes them.
var negativeIntents = map[string]bool{
	"complaint": true, "damaged_item": true, "wrong_item": true, "missing_package": true,
	"payment_failed": true, "refund_status": true, "account_locked": true, "talk_to_human": true,
	"warranty": true,
}

// sentimentBase is an intent's typical sentiment score.
func sentimentBase(intent string) float64 {
	switch {
	case negativeIntents[intent]:
		return -0.55
	case intent == intentThanks:
		return 0.7
	case intent == intentGreeting || intent == intentGoodbye || intent == intentAffirm:
		return 0.15
	case intent == intentDeny:
		return -0.1
	}
	return 0
}

// replies are the bot's answers per intent.
var replies = map[string]string{
	"order_status":            "Your order is on its way. You can follow it with the tracking link in your shipping confirmation email.",
	"cancel_order":            "I can cancel orders that have not shipped yet. I have sent you a confirmation by email.",
	"change_order":            "Orders can be changed until they are packed. I have updated it for you; you will get a new confirmation.",
	"return_item":             "You can return items within 30 days. I have emailed you a prepaid return label.",
	"exchange_item":           "Happy to swap it. Send it back with the label I emailed you and we will ship the new size as soon as it arrives.",
	"refund_status":           "Refunds are issued within 3 working days after your return arrives; your bank may take 3 to 5 more days.",
	"change_delivery_address": "I have updated the delivery address on your order.",
	"delivery_time":           "Standard delivery takes 2 to 4 working days; express arrives the next working day if you order before 2 pm.",
	"shipping_cost":           "Standard shipping is 4.95 EUR and free from 50 EUR; Plus members always ship free.",
	"international_shipping":  "We ship to most EU countries, the UK, Switzerland and Norway. Duties are shown at checkout.",
	"missing_package":         "I am sorry your parcel has not arrived. I have opened an investigation with the carrier and will email you within 48 hours.",
	"damaged_item":            "I am sorry it arrived damaged. I have arranged a free replacement; you do not need to send the item back.",
	"wrong_item":              "Sorry about the mix-up. The right item is on its way and I have emailed you a label for the wrong one.",
	"payment_failed":          "Payments can fail when the bank asks for extra verification. Please try again or use another payment method; you have not been charged twice.",
	"payment_methods":         "We accept Visa, Mastercard, American Express, PayPal, Klarna and gift cards.",
	"update_payment_method":   "You can change your saved cards under Account > Payment methods.",
	"discount_code":           "Codes are entered in the basket before checkout. Each code works once per customer and not on sale items.",
	"gift_card":               "Gift cards are redeemed at checkout and never expire. You can check the balance under Account > Gift cards.",
	"reset_password":          "I have sent you a link to reset your password. It is valid for one hour.",
	"account_locked":          "Your account was locked after several failed sign-ins. I have sent you an email to unlock it.",
	"delete_account":          "I can close your account and erase your data. Please confirm with the link I have emailed you.",
	"update_account_details":  "You can change your name, email and phone number under Account > Profile.",
	"product_availability":    "It is in stock in most sizes. I can notify you when your size is back.",
	"price_question":          "The current price is shown on the product page; we match lower prices from the shop within 14 days.",
	"product_info":            "You will find the materials, dimensions and a size guide on the product page under Details.",
	"warranty":                "Electronics come with a 2-year warranty. I have opened a repair request for you.",
	"invoice":                 "Your invoice is under Account > Orders; I have also emailed you a copy.",
	"cancel_subscription":     "I have turned off auto-renewal for your Plus membership. It stays active until the end of the period.",
	"newsletter_unsubscribe":  "You are unsubscribed from our newsletter. Order emails will still reach you.",
	"opening_hours":           "Customer service is open Monday to Saturday, 8 am to 8 pm; pick-up points follow their own hours.",
	"contact_details":         "You can reach us at support@example.com or on 0800 123 456, Monday to Saturday.",
	"complaint":               "I am sorry to hear that. I have passed your feedback on to our customer care team.",
	"greeting":                "Hi! How can I help you today?",
	"thanks":                  "You are welcome! Is there anything else I can do for you?",
	"goodbye":                 "Thanks for chatting with us. Have a lovely day!",
	"affirm":                  "Great, that is done.",
	"deny":                    "No problem. What would you like to do instead?",
	"talk_to_human":           "I will put you through to a colleague.",
}

const (
	replyDefault  = "Thanks for your message. Let me look into that for you."
	replyClarify  = "Sorry, I am not sure I understood. Did you mean one of these?"
	replyFallback = "Sorry, I can only help with orders, deliveries, returns, payments and your account. Would you like to talk to a person?"
	replyEscalate = "I am passing you to a colleague, who will reply here shortly."
)

// agents are the demo's support staff.
var agents = []struct{ name, email string }{
	{"Sam Ortega", "sam.ortega@staff.example.com"},
	{"Priya Nair", "priya.nair@staff.example.com"},
	{"Jonas Weber", "jonas.weber@staff.example.com"},
	{"Aoife Byrne", "aoife.byrne@staff.example.com"},
}

// lockedPassword is stored as the demo agents' password hash: it is no
// valid encoding, so no password matches and nobody can sign in as them.
const lockedPassword = "!demo-account-no-login"

var agentOpeners = []string{
	"Hi, this is %s from customer care. I have read your messages and I am on it.",
	"Hello, %s here. Sorry for the trouble; let me sort this out for you.",
	"Hi, I am %s. Thanks for your patience, I am looking into it now.",
}

var resolutions = []string{
	"refund issued", "replacement sent", "answered by email", "order corrected",
	"carrier investigation opened", "account unlocked", "goodwill voucher sent",
}

// FallbackUtterances is a tiny set of customer messages per intent, used
// when Config.Utterances is nil: enough for tests and a first look.
// Parley's built-in training data makes a far richer demo.
var FallbackUtterances = map[string][]string{
	"order_status":         {"Where is my order?", "Has my parcel shipped yet?", "Can you give me the tracking link for order 48213?"},
	"return_item":          {"How do I return a jumper that doesn't fit?", "I want to send these shoes back"},
	"refund_status":        {"I returned my boots two weeks ago and still have no refund", "When will I get my money back?"},
	"damaged_item":         {"The glass teapot arrived broken", "My headphones don't work out of the box"},
	"wrong_item":           {"I got grey curtains instead of navy", "This is not what I ordered"},
	"missing_package":      {"Tracking says delivered but nothing arrived", "My parcel seems to be lost"},
	"complaint":            {"This is the third time my order is late, really disappointing", "Your service has been terrible lately"},
	"talk_to_human":        {"I want to talk to a real person", "Get me a human please"},
	"payment_failed":       {"My card was declined at checkout", "I was charged twice for one order"},
	"product_availability": {"Is the rain jacket back in stock in M?", "Do you have the linen throw in beige?"},
	"price_question":       {"How much are the Chelsea boots?", "Will the speaker go on sale soon?"},
	"product_info":         {"What are the bed linen sheets made of?", "Is the e-reader waterproof?"},
	"discount_code":        {"My discount code isn't working", "Do you have a code for first orders?"},
	"shipping_cost":        {"How much is shipping?", "When is delivery free?"},
	"delivery_time":        {"How long does delivery take?", "Can I get it by Friday?"},
	"reset_password":       {"I forgot my password", "The reset link never arrived"},
	"greeting":             {"Hi", "Hello there", "Good morning"},
	"thanks":               {"Thanks a lot!", "Great, thank you"},
	"goodbye":              {"Bye", "That's all, bye"},
	"affirm":               {"Yes please", "That's right"},
	"deny":                 {"No, not that", "Nope"},
}
