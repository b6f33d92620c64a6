"""The captioning lesson: the CS231n notebook's story, from the data to the LSTM.

Edit freely: the steps run in this order, each shows the live view it names
(`explorer.components.lesson_views.VIEWS`), and the page draws whatever is here. A new
or changed sentence needs its translations (`make translations`).
"""
from explorer.i18n import N_
from explorer.lessons.steps import Lesson, Question, Step

LESSON = Lesson(key="captioning", title=N_("Image captioning with RNNs"), steps=(
    Step("data", N_("The data"), N_(
        "Every image comes with five captions written by people. The network never sees pixels: "
        "an image is a feature vector (VGG-16's fc7, reduced to 512 numbers). A caption is a row "
        "of word ids: `<START>`, the words, `<END>`, then `<NULL>` padding; the mask says which "
        "places count."),
        view="data",
        try_this=N_("Press *Another image* and read one caption's ids and mask."),
        question=Question(N_("What fills a caption's places after `<END>`?"),
                          (N_("`<NULL>` (id 0)"), N_("`<END>` again"), N_("The next caption")), 0,
                          N_("`<NULL>` pads every caption to the same length so a minibatch is one array; "
                             "the mask is 0 there, so those places never count in the loss."))),
    Step("vocabulary", N_("The vocabulary and its special words"), N_(
        "The model writes one word of a fixed vocabulary at a time: the course's has 1,004 words, "
        "the demo's fewer. Four are special: `<NULL>` pads, `<START>` begins every caption, `<END>` "
        "ends it, and `<UNK>` stands for every word too rare to keep."),
        view="vocabulary",
        try_this=N_("Find the most frequent real word. Why is it so frequent?"),
        question=Question(N_("Which id does `<START>` have?"), ("0", "1", "2", "3"), 1,
                          N_("`<NULL>` is 0, `<START>` 1, `<END>` 2 and `<UNK>` 3 in the course's "
                             "vocabulary; real words follow."))),
    Step("rnn-step", N_("One RNN step, with real numbers"), N_(
        "A vanilla RNN keeps a hidden state h. At each step it reads an input x and updates "
        "h with one formula: next_h = tanh(x·Wx + prev_h·Wh + b). Here every matrix is small "
        "enough to read: D = 3 inputs, H = 2 hidden units, one example."),
        view="rnn_step",
        try_this=N_("Move x's sliders and watch each product, the sum and tanh change next_h."),
        question=Question(N_("x is (N, D) and prev_h is (N, H). What shape is next_h?"),
                          ("(N, D)", "(N, H)", "(D, H)", "(H, H)"), 1,
                          N_("x·Wx is (N, D)·(D, H) and prev_h·Wh is (N, H)·(H, H): both (N, H), "
                             "like b broadcast over the rows, so next_h is (N, H)."),
                          conceals=True)),
    Step("gradient-check", N_("Checking the gradient"), N_(
        "The backward pass is written by hand, so it is checked against a numeric gradient: "
        "nudge every input by ±h and see how the output moves. The notebook prints a relative "
        "error per input; around 1e-8 or below the derivative is right."),
        view="gradient_check",
        try_this=N_("Turn on *Break the backward pass* and see which errors jump."),
        question=Question(N_("A derivative is wrong. What happens to its relative error?"),
                          (N_("It stays near 1e-8"), N_("It jumps towards 1"), N_("It becomes exactly 0")), 1,
                          N_("A wrong formula disagrees with the numeric gradient by about as much as the "
                             "gradient itself, so the error is of order 1e-1 to 1, not 1e-8."))),
    Step("unroll", N_("Unrolled over time"), N_(
        "A caption is read one word per step with the same weights Wx, Wh and b at every step: "
        "the RNN unrolled over time is one layer repeated T times. Backpropagation through time "
        "sends the loss's gradient back along the same chain, step by step."),
        view="unroll",
        try_this=N_("Follow ‖dL/dh_t‖ from the last word back to the first: does it shrink?"),
        question=Question(N_("The RNN reads a 12-word caption. How many different Wh matrices does it use?"),
                          ("1", "12", "13"), 0,
                          N_("One: the same Wh at every step. Its gradient is the sum of the gradients "
                             "from every step."))),
    Step("embedding", N_("Word embeddings"), N_(
        "A word id becomes a vector by looking up its row in W_embed (V × W). The lookup is the "
        "forward pass; the backward pass adds each step's gradient into the row of the word read "
        "there, so a word read twice gets both gradients."),
        view="embedding",
        try_this=N_("Pick another caption and find a word that occurs twice: same row, same vector."),
        question=Question(N_("A word appears twice in a minibatch. What is its row of dW_embed?"),
                          (N_("The sum of both gradients"), N_("Their mean"), N_("The last one")), 0,
                          N_("np.add.at(dW, x, dout) adds every occurrence: the same row was used twice, "
                             "so both uses contribute."))),
    Step("loss", N_("Scores, softmax and the masked loss"), N_(
        "At every step a temporal affine layer turns h into a score for every word of the "
        "vocabulary; softmax makes them probabilities and the loss is −log p(true next word), "
        "summed over the caption and divided by the batch size, except where the mask is 0."),
        view="loss",
        try_this=N_("Which word of the caption is hardest for the model? Which is easiest?"),
        question=Question(N_("What does a `<NULL>` place add to the loss?"),
                          (N_("Nothing"), N_("log V, as a uniform guess"), N_("As much as any word")), 0,
                          N_("The mask is 0 on padding, so its −log p is multiplied by 0."),
                          conceals=True)),
    Step("model", N_("The captioning model"), N_(
        "The image enters once: an affine layer maps its feature vector to the first hidden "
        "state, h0 = features·W_proj + b_proj. From there the RNN reads `<START>` and the "
        "caption's words, and scores the next word at every step."),
        view="model",
        try_this=N_("Which parameter holds most of the numbers? Why that one?"),
        question=Question(N_("Where does the image enter the RNN?"),
                          (N_("Only through h0"), N_("At every step, added to x"), N_("Through `<START>`")), 0,
                          N_("In the course's model the image sets h0 and nothing else; everything after "
                             "that the RNN must carry in its hidden state."))),
    Step("overfit", N_("Overfitting, live"), N_(
        "The notebook's sanity check: train on 50 captions only and the loss must fall towards "
        "zero, because a big enough model can memorise them. In slow motion, the loss curve and "
        "the captions of three training images change while you watch."),
        view="overfit",
        try_this=N_("Press *Start* and say when the captions first become sentences."),
        question=Question(N_("Trained on 50 captions for 100 iterations, where does the loss end?"),
                          (N_("Near zero"), N_("About where it started"), N_("Higher than it started")), 0,
                          N_("Fifty captions are easy to memorise: the loss falls from tens to about 0.1. "
                             "That says the code can learn, not that the model is any good."))),
    Step("sampling", N_("Sampling one word at a time"), N_(
        "At test time there is no caption to read: the model reads `<START>`, picks the most "
        "likely word, reads it back at the next step, and so on until `<END>`. Here the lesson's "
        "overfit model captions an image it trained on."),
        view="sampling",
        try_this=N_("Press *Step* until the caption ends. Is it one of the true captions?"),
        question=Question(N_("At test time, what does the model read at step 2?"),
                          (N_("Its own word"), N_("The true word"), N_("`<START>` again")), 0,
                          N_("Its own word: a mistake early on is read back in and can derail the rest."))),
    Step("train-val", N_("Train against val"), N_(
        "The same overfit model on images it trained on and on validation images it never saw. "
        "BLEU counts how many of a caption's words and word pairs also occur in the true captions."),
        view="train_val",
        try_this=N_("Read the val captions: are they about their images at all?"),
        question=Question(N_("How does the overfit model caption images it never saw?"),
                          (N_("As well as the ones it trained on"), N_("Much worse")), 1,
                          N_("It memorised 50 captions: on new images it writes one of them, whatever the "
                             "picture shows. That gap is overfitting."),
                          conceals=True)),
    Step("lstm", N_("The LSTM and its gates"), N_(
        "An LSTM adds a cell state c and four gates computed from x and h: input i, forget f, "
        "output o and the candidate g. c = f⊙c + i⊙g keeps or replaces memory; h = o⊙tanh(c) "
        "is what the next layer sees. The additive path through c lets gradients travel further."),
        view="lstm",
        try_this=N_("Move through the caption's steps: which gates stay open, which close?"),
        question=Question(N_("Which gate decides how much of the old cell state to keep?"),
                          (N_("input i"), N_("forget f"), N_("output o"), N_("candidate g")), 1,
                          N_("f multiplies the old c: f near 1 keeps it, near 0 forgets it."))),
    Step("words-or-characters", N_("Words or characters?"), N_(
        "The notebook ends with a question: what if the RNN read and wrote characters ('a', ' ', 'c', "
        "'a', 't', ...) instead of words? The model is the same; only its vocabulary changes, and "
        "every caption gets longer."),
        view="words_or_characters",
        try_this=N_("Name one advantage and one disadvantage of characters."),
        question=Question(N_("The same RNN over characters instead of words: which has more parameters?"),
                          (N_("The word model"), N_("The character model"), N_("Both the same")), 0,
                          N_("The embedding (V × W) and the output layer (H × V) shrink with V; the recurrent "
                             "weights do not. But a caption takes about five times as many steps."),
                          conceals=True)),
))
