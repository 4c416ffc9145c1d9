package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
)

// The analysts' pages: the NLU inbox (what the bot got wrong, grouped,
// to label), retraining in the background, the model versions with
// their metrics, comparison of two versions, promotion and rollback.
// They work on a training.Workbench and its Runner; without them
// (Deps.Training nil) the pages are off.

type trainingPage struct {
	page
	Groups  []training.Group
	Intents []string
	Status  training.RunStatus
	Labels  int // analyst labels so far
	Notice  string
	Error   string
}

func (s *Server) trainingPage(w http.ResponseWriter, r *http.Request) {
	s.showTraining(w, r, http.StatusOK, trainingPage{Notice: notices[r.URL.Query().Get("notice")]})
}

func (s *Server) showTraining(w http.ResponseWriter, r *http.Request, status int, data trainingPage) {
	data.page = newPage(principal(r), "NLU inbox")
	data.Nav = "training"
	ctx := r.Context()
	var err error
	if data.Groups, err = s.training.Review(ctx, training.ReviewOptions{}); err == nil {
		data.Intents, err = s.training.KnownIntents(ctx)
	}
	if err != nil {
		st, msg := s.httpStatus(r, fmt.Errorf("the NLU inbox: %w", err))
		s.fail(w, r, st, msg)
		return
	}
	data.Status = s.runner.Status()
	s.render(w, r, status, "training.html", data)
}

// label stores the analyst's verdict on an inbox group: an intent, a
// new intent (only when asked for: never a dangling label), or oos.
func (s *Server) label(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "the form could not be read")
		return
	}
	var ids []int64
	for _, f := range strings.Split(r.PostForm.Get("message_ids"), ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64)
		if err != nil || id <= 0 {
			s.fail(w, r, http.StatusBadRequest, "bad message ids")
			return
		}
		ids = append(ids, id)
	}
	intent := strings.TrimSpace(r.PostForm.Get("intent"))
	newIntent := false
	if n := strings.TrimSpace(r.PostForm.Get("new_intent")); n != "" {
		intent, newIntent = n, r.PostForm.Get("create") == "yes"
	}
	me := principal(r).Staff
	_, err := s.training.Label(r.Context(), training.LabelRequest{MessageIDs: ids, Intent: intent, StaffID: me.ID, NewIntent: newIntent})
	var unknown *training.UnknownIntentError
	switch {
	case errors.As(err, &unknown):
		// Offer to create it: the page shows the intent with a confirm box.
		s.showTraining(w, r, http.StatusUnprocessableEntity, trainingPage{Error: unknown.Error() + ". To create it, tick “create this intent” and label again."})
		return
	case err != nil:
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	s.log.Info("console: labelled", "messages", len(ids), "intent", intent, "staff", me.ID)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"labelled": len(ids), "intent": intent})
		return
	}
	http.Redirect(w, r, "/console/training?notice=labelled", http.StatusSeeOther)
}

// retrain starts a retraining in the background (one at a time).
func (s *Server) retrain(w http.ResponseWriter, r *http.Request) {
	if err := s.runner.Start(s.retrainOpts); err != nil {
		st, msg := s.httpStatus(r, fmt.Errorf("%w: %w", crm.ErrConflict, err))
		s.fail(w, r, st, msg)
		return
	}
	s.log.Info("console: retraining started", "staff", principal(r).Staff.ID)
	if wantsJSON(r) {
		writeJSON(w, http.StatusAccepted, s.runner.Status())
		return
	}
	http.Redirect(w, r, "/console/training?notice=retraining", http.StatusSeeOther)
}

func (s *Server) cancelRetrain(w http.ResponseWriter, r *http.Request) {
	s.runner.Cancel()
	http.Redirect(w, r, "/console/training?notice=cancelled", http.StatusSeeOther)
}

// trainStatus is the running retraining's progress, for the page's poll.
func (s *Server) trainStatus(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.runner.Status())
}

type modelsPage struct {
	page
	Versions []crm.ModelVersion
	A, B     int64 // the comparison's defaults: active vs newest
	Notice   string
}

func (s *Server) modelsPage(w http.ResponseWriter, r *http.Request) {
	data := modelsPage{page: newPage(principal(r), "Models"), Notice: notices[r.URL.Query().Get("notice")]}
	data.Nav = "models"
	vs, err := s.training.Versions(r.Context(), training.Kind)
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	data.Versions = vs
	for _, v := range vs {
		if v.Active {
			data.A = v.ID
		}
		if data.B == 0 || v.CreatedAt.After(versionByID(vs, data.B).CreatedAt) {
			data.B = v.ID
		}
	}
	s.render(w, r, http.StatusOK, "models.html", data)
}

func versionByID(vs []crm.ModelVersion, id int64) crm.ModelVersion {
	i := slices.IndexFunc(vs, func(v crm.ModelVersion) bool { return v.ID == id })
	if i < 0 {
		return crm.ModelVersion{}
	}
	return vs[i]
}

// promote makes a version the serving one: every server sharing the CRM
// switches to it within its poll interval, without a restart.
func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, r, http.StatusNotFound, "no such version")
		return
	}
	v, err := s.training.Promote(r.Context(), id)
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	s.log.Info("console: promoted model", "version", v.Version, "staff", principal(r).Staff.ID)
	http.Redirect(w, r, "/console/models?notice=promoted", http.StatusSeeOther)
}

func (s *Server) rollback(w http.ResponseWriter, r *http.Request) {
	v, err := s.training.Rollback(r.Context(), training.Kind)
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	s.log.Info("console: rolled back model", "version", v.Version, "staff", principal(r).Staff.ID)
	http.Redirect(w, r, "/console/models?notice=rolledback", http.StatusSeeOther)
}

type comparePage struct {
	page
	C                            training.Comparison
	ConfA, ConfB, Diff, Calibrat template.HTML
}

// compare shows two versions side by side on the fixed held-out set.
func (s *Server) compare(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, errA := strconv.ParseInt(q.Get("a"), 10, 64)
	b, errB := strconv.ParseInt(q.Get("b"), 10, 64)
	if errA != nil || errB != nil {
		s.fail(w, r, http.StatusBadRequest, "choose two versions to compare")
		return
	}
	c, err := s.training.Compare(r.Context(), a, b)
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, c)
		return
	}
	data := comparePage{page: newPage(principal(r), "Compare models"), C: c}
	data.Nav = "models"
	// The SVGs are built by training with every label escaped.
	var svg bytes.Buffer
	for _, x := range []struct {
		dst   *template.HTML
		write func() error
	}{
		{&data.ConfA, func() error { return training.ConfusionSVG(&svg, c, training.MatrixA) }},
		{&data.ConfB, func() error { return training.ConfusionSVG(&svg, c, training.MatrixB) }},
		{&data.Diff, func() error { return training.ConfusionSVG(&svg, c, training.MatrixDiff) }},
		{&data.Calibrat, func() error { return training.ReliabilitySVG(&svg, c) }},
	} {
		svg.Reset()
		if err := x.write(); err != nil {
			s.fail(w, r, http.StatusInternalServerError, "the charts could not be drawn")
			return
		}
		*x.dst = template.HTML(svg.String())
	}
	s.render(w, r, http.StatusOK, "compare.html", data)
}
