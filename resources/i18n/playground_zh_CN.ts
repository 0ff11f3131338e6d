<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
    <context>
        <name>App</name>
        <message>
            <source>History cannot be saved in {home}: conversations last until you quit.</source>
            <translation>历史记录无法保存在 {home}：对话只保留到退出为止。</translation>
        </message>
    </context>
    <context>
        <name>ArchitectureView</name>
        <message>
            <source>The model's architecture appears here once a model is loaded.</source>
            <translation>加载模型后，这里显示模型的架构。</translation>
        </message>
        <message>
            <source>attention: {heads} heads ({kv} key/value heads), head size {size}</source>
            <translation>注意力：{heads} 个头（{kv} 个键/值头），头大小 {size}</translation>
        </message>
        <message>
            <source>layer {n}</source>
            <translation>第 {n} 层</translation>
        </message>
        <message>
            <source>{params:.1f} M parameters</source>
            <translation>{params:.1f} M 参数</translation>
        </message>
        <message>
            <source>tokens → &lt;b&gt;embedding&lt;/b&gt; ({vocab} × {dim}) → {layers} × [attention, MLP] → &lt;b&gt;norm&lt;/b&gt; → &lt;b&gt;unembedding&lt;/b&gt; ({dim} → {vocab}) → next-token probabilities</source>
            <translation>词元 → &lt;b&gt;嵌入&lt;/b&gt;（{vocab} × {dim}）→ {layers} × [注意力, MLP] → &lt;b&gt;归一化&lt;/b&gt; → &lt;b&gt;反嵌入&lt;/b&gt;（{dim} → {vocab}）→ 下一个词元的概率</translation>
        </message>
        <message>
            <source>context window: {n} tokens. Click a layer to open its attention.</source>
            <translation>上下文窗口：{n} 个词元。点击某一层打开它的注意力。</translation>
        </message>
    </context>
    <context>
        <name>AttentionMath</name>
        <message>
            <source>position</source>
            <translation>位置</translation>
        </message>
        <message>
            <source>key token</source>
            <translation>键词元</translation>
        </message>
        <message>
            <source>score − max</source>
            <translation>分数 − 最大值</translation>
        </message>
        <message>
            <source>weight (softmax)</source>
            <translation>权重（softmax）</translation>
        </message>
        <message>
            <source>No attention row is shown yet.</source>
            <translation>还没有显示注意力行。</translation>
        </message>
        <message>
            <source>layer %1, head %2</source>
            <translation>第 %1 层，头 %2</translation>
        </message>
        <message>
            <source>mean</source>
            <translation>平均</translation>
        </message>
        <message>
            <source>Query: token %1 “%2” (%3). The weights add up to %4.</source>
            <translation>查询：第 %1 个词元“%2”（%3）。权重之和为 %4。</translation>
        </message>
    </context>
    <context>
        <name>AttentionView</name>
        <message>
            <source>row {r}: {token}</source>
            <translation>第 {r} 行：{token}</translation>
        </message>
        <message>
            <source>Until it is ready, the previous result stays below.</source>
            <translation>在新结果出来之前，下面仍显示上一次的结果。</translation>
        </message>
        <message>
            <source>colour: attention weight on a log scale, 0.0001 (dark) to 1 (bright)</source>
            <translation>颜色：注意力权重，对数刻度，0.0001（暗）到 1（亮）</translation>
        </message>
        <message>
            <source>colour: attention weight, 0 (dark) to the highest here (bright)</source>
            <translation>颜色：注意力权重，0（暗）到这里的最大值（亮）</translation>
        </message>
        <message>
            <source>colour: each row scaled to its own highest weight (bright) — rows compare shapes, not sizes</source>
            <translation>颜色：每行按自己的最大权重缩放（亮）— 各行比较形状，而不是大小</translation>
        </message>
        <message>
            <source>log</source>
            <translation>对数</translation>
        </message>
        <message>
            <source>linear</source>
            <translation>线性</translation>
        </message>
        <message>
            <source>per row</source>
            <translation>按行</translation>
        </message>
        <message>
            <source>No attention yet: press Compute, or click a token of a reply and then 'What it attended to'.</source>
            <translation>还没有注意力：按“计算”，或点击回复中的一个词元，再点“它注意了什么”。</translation>
        </message>
        <message>
            <source>Layer</source>
            <translation>层</translation>
        </message>
        <message>
            <source>mean</source>
            <translation>平均</translation>
        </message>
        <message>
            <source>Which layer (counting from 0); 'mean' averages over all layers</source>
            <translation>哪一层（从 0 数起）；“平均”对所有层取平均</translation>
        </message>
        <message>
            <source>Head</source>
            <translation>头</translation>
        </message>
        <message>
            <source>Which head (counting from 0); 'mean' averages over the layer's heads</source>
            <translation>哪个头（从 0 数起）；“平均”对该层所有头取平均</translation>
        </message>
        <message>
            <source>Colour</source>
            <translation>颜色</translation>
        </message>
        <message>
            <source>Attention is a few large weights and many tiny ones: the log scale shows both</source>
            <translation>注意力由少数很大的权重和大量很小的权重组成：对数刻度能同时显示两者</translation>
        </message>
        <message>
            <source>All heads</source>
            <translation>所有头</translation>
        </message>
        <message>
            <source>Every head (rows) of every layer (columns) as thumbnails; click one to open it</source>
            <translation>每一层（列）的每个头（行）的缩略图；点击一个打开它</translation>
        </message>
        <message>
            <source>Earlier layers</source>
            <translation>较早的层</translation>
        </message>
        <message>
            <source>Later layers</source>
            <translation>较晚的层</translation>
        </message>
        <message>
            <source>Compute</source>
            <translation>计算</translation>
        </message>
        <message>
            <source>Attention over every token of the conversation so far: a separate forward pass with the attention written out</source>
            <translation>到目前为止对话中每个词元的注意力：单独做一次前向传播，并把注意力记录下来</translation>
        </message>
        <message>
            <source>Export</source>
            <translation>导出</translation>
        </message>
        <message>
            <source>Save the picture (PNG), the matrix shown (CSV) or every layer and head (NPY)</source>
            <translation>保存图片（PNG）、当前显示的矩阵（CSV）或所有层和头（NPY）</translation>
        </message>
        <message>
            <source>Picture (PNG)…</source>
            <translation>图片（PNG）…</translation>
        </message>
        <message>
            <source>This matrix (CSV)…</source>
            <translation>这个矩阵（CSV）…</translation>
        </message>
        <message>
            <source>Every layer and head (NPY)…</source>
            <translation>所有层和头（NPY）…</translation>
        </message>
        <message>
            <source>Hover a cell for its value; click a row to see what that token attended to; ↑ and ↓ then move it one row.</source>
            <translation>把鼠标停在格子上查看数值；点击一行，查看那个词元关注了什么；之后用 ↑ 和 ↓ 逐行移动。</translation>
        </message>
        <message>
            <source>The text, shaded by what the chosen row attended to.</source>
            <translation>文本按所选行的注意力深浅着色。</translation>
        </message>
        <message>
            <source>Showing the last {shown:,} of {total:,} tokens: the maps of all of them would not fit in memory ({layers} layers × {heads} heads × tokens² values).</source>
            <translation>只显示 {total:,} 个词元中的最后 {shown:,} 个：全部的注意力图放不进内存（{layers} 层 × {heads} 个头 × 词元数² 个值）。</translation>
        </message>
        <message>
            <source>all layers (mean)</source>
            <translation>所有层（平均）</translation>
        </message>
        <message>
            <source>layer {n}</source>
            <translation>第 {n} 层</translation>
        </message>
        <message>
            <source>all heads (mean)</source>
            <translation>所有头（平均）</translation>
        </message>
        <message>
            <source>head {n}</source>
            <translation>头 {n}</translation>
        </message>
        <message>
            <source>{layer}, {head}</source>
            <translation>{layer}，{head}</translation>
        </message>
        <message>
            <source>key: the token attended to</source>
            <translation>键：被关注的词元</translation>
        </message>
        <message>
            <source>query: the token attending</source>
            <translation>查询：发出关注的词元</translation>
        </message>
        <message>
            <source>layers {first}–{last} of {n}</source>
            <translation>第 {first}–{last} 层，共 {n} 层</translation>
        </message>
        <message>
            <source>layer</source>
            <translation>层</translation>
        </message>
        <message>
            <source>head</source>
            <translation>头</translation>
        </message>
        <message>
            <source>&lt;b&gt;every head of layers {first}–{last}&lt;/b&gt; (click one to open it) · {scale}</source>
            <translation>&lt;b&gt;第 {first}–{last} 层的所有头&lt;/b&gt;（点击一个打开它）· {scale}</translation>
        </message>
        <message>
            <source>layer {layer}, head {head} — click to open it</source>
            <translation>第 {layer} 层，头 {head} — 点击打开</translation>
        </message>
        <message>
            <source>the future: a token cannot attend to tokens after it</source>
            <translation>未来：词元不能关注它之后的词元</translation>
        </message>
        <message>
            <source>what {token} attended to&lt;br&gt;({which})</source>
            <translation>{token} 关注了什么&lt;br&gt;（{which}）</translation>
        </message>
        <message>
            <source>Export attention</source>
            <translation>导出注意力</translation>
        </message>
    </context>
    <context>
        <name>ChatSession</name>
        <message>
            <source>Load a model first.</source>
            <translation>请先加载模型。</translation>
        </message>
        <message>
            <source>Write a message first: the sides answer it.</source>
            <translation>请先写一条消息：各方案都回答它。</translation>
        </message>
        <message>
            <source>The {n} oldest messages no longer fit the context and were left out.</source>
            <translation>最早的 {n} 条消息已放不进上下文，被略去了。</translation>
        </message>
    </context>
    <context>
        <name>ChatView</name>
        <message>
            <source>Ask the model something. Enter sends, Shift+Enter adds a line.</source>
            <translation>问模型点什么。Enter 发送，Shift+Enter 换行。</translation>
        </message>
    </context>
    <context>
        <name>Compare</name>
        <message>
            <source>— %1 tokens, ended: %2</source>
            <translation>— %1 个词元，结束原因：%2</translation>
        </message>
        <message>
            <source>end of text</source>
            <translation>文本结束</translation>
        </message>
        <message>
            <source>token limit</source>
            <translation>词元上限</translation>
        </message>
        <message>
            <source>stop string</source>
            <translation>停止字符串</translation>
        </message>
        <message>
            <source>stopped</source>
            <translation>已停止</translation>
        </message>
        <message>
            <source>context full</source>
            <translation>上下文已满</translation>
        </message>
    </context>
    <context>
        <name>CompareWindow</name>
        <message>
            <source>Compare settings — Playground</source>
            <translation>比较设置 — Playground</translation>
        </message>
        <message>
            <source>The question every side answers (after the conversation so far)</source>
            <translation>每个方案都要回答的问题（接在目前的对话之后）</translation>
        </message>
        <message>
            <source>Add a side</source>
            <translation>添加方案</translation>
        </message>
        <message>
            <source>Remove a side</source>
            <translation>移除方案</translation>
        </message>
        <message>
            <source>Run all sides</source>
            <translation>运行所有方案</translation>
        </message>
        <message>
            <source>Every side answers the same prefix on the same model, one token each in turn</source>
            <translation>每个方案在同一个模型上回答同一个前缀，轮流各生成一个词元</translation>
        </message>
        <message>
            <source>Stop</source>
            <translation>停止</translation>
        </message>
        <message>
            <source>Every side answers the same prefix as this reply: the conversation up to the question “%1”.</source>
            <translation>每个方案都回答与这条回复相同的前缀：到问题“%1”为止的对话。</translation>
        </message>
        <message>
            <source>Every side answers this question, after the conversation so far.</source>
            <translation>每个方案都在目前的对话之后回答这个问题。</translation>
        </message>
        <message>
            <source>Nothing to compare: write a question first, or load a model.</source>
            <translation>没有可比较的：先写一个问题，或加载模型。</translation>
        </message>
        <message>
            <source>Choose the parameters of each side and press Run all sides. The first token where the sides differ is marked ▶ in each column, and the table shows what each side chose between there.</source>
            <translation>为每个方案选择参数，然后按“运行所有方案”。各方案第一次出现不同的词元在每列中用 ▶ 标出，表格显示各方案在那里的候选。</translation>
        </message>
        <message>
            <source>The sides have not parted yet.</source>
            <translation>各方案还没有分开。</translation>
        </message>
        <message>
            <source>Every side wrote the same tokens.</source>
            <translation>各方案写出的词元完全相同。</translation>
        </message>
        <message>
            <source>The sides part at token %1 (counting from 0), after “%2”. Chosen there — %3. The model's probabilities are the same on every side (the same prefix); each side's sampler changes them.</source>
            <translation>各方案在第 %1 个词元处（从 0 数起）分开，位于“%2”之后。在那里的选择 — %3。模型给出的概率在各方案都相同（前缀相同）；是各方案的采样器改变了它们。</translation>
        </message>
    </context>
    <context>
        <name>DivergenceTable</name>
        <message>
            <source>token</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>model p</source>
            <translation>模型 p</translation>
        </message>
        <message>
            <source>p on side %1</source>
            <translation>方案 %1 的 p</translation>
        </message>
    </context>
    <context>
        <name>HistoryController</name>
        <message>
            <source>Loading {model}, the model of this conversation…</source>
            <translation>正在加载这段对话所用的模型 {model}…</translation>
        </message>
        <message>
            <source>This conversation was with {model}, which is not on this computer; {name} will answer instead.</source>
            <translation>这段对话用的是 {model}，但它不在这台电脑上；将由 {name} 来回答。</translation>
        </message>
        <message>
            <source>Conversation deleted.</source>
            <translation>对话已删除。</translation>
        </message>
        <message>
            <source>Rename</source>
            <translation>重命名</translation>
        </message>
        <message>
            <source>Title:</source>
            <translation>标题：</translation>
        </message>
        <message>
            <source>Export failed</source>
            <translation>导出失败</translation>
        </message>
        <message>
            <source>Exported to {path}</source>
            <translation>已导出到 {path}</translation>
        </message>
        <message>
            <source>Export conversation</source>
            <translation>导出对话</translation>
        </message>
        <message>
            <source>Import failed</source>
            <translation>导入失败</translation>
        </message>
        <message>
            <source>Import conversation</source>
            <translation>导入对话</translation>
        </message>
        <message>
            <source>JSON (*.json)</source>
            <translation>JSON (*.json)</translation>
        </message>
    </context>
    <context>
        <name>HistoryPanel</name>
        <message>
            <source>Search conversations</source>
            <translation>搜索对话</translation>
        </message>
        <message>
            <source>Import…</source>
            <translation>导入…</translation>
        </message>
        <message>
            <source>Import a conversation exported as JSON</source>
            <translation>导入以 JSON 导出的对话</translation>
        </message>
        <message>
            <source>Export all…</source>
            <translation>全部导出…</translation>
        </message>
        <message>
            <source>Every conversation, with everything recorded, in one JSON file</source>
            <translation>所有对话及其全部记录，存为一个 JSON 文件</translation>
        </message>
        <message>
            <source>New chat</source>
            <translation>新对话</translation>
        </message>
        <message>
            <source>Rename…</source>
            <translation>重命名…</translation>
        </message>
        <message>
            <source>Export as Markdown…</source>
            <translation>导出为 Markdown…</translation>
        </message>
        <message>
            <source>Export as JSON…</source>
            <translation>导出为 JSON…</translation>
        </message>
        <message>
            <source>Delete</source>
            <translation>删除</translation>
        </message>
    </context>
    <context>
        <name>InsideWorkspace</name>
        <message>
            <source>Token</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>Click a token of a reply (turn on Tokens under it) to see what the model chose between.</source>
            <translation>点击回复中的一个词元（先打开回复下方的“词元”），查看模型在哪些候选之间做了选择。</translation>
        </message>
        <message>
            <source>Attention</source>
            <translation>注意力</translation>
        </message>
        <message>
            <source>Attention over the conversation: press Compute, or open this tab after a reply.</source>
            <translation>对话上的注意力：按“计算”，或在有回复后打开此标签页。</translation>
        </message>
        <message>
            <source>Logit lens</source>
            <translation>对数透镜</translation>
        </message>
        <message>
            <source>What each layer would predict at a token: click a token, then 'Logit lens here'.</source>
            <translation>每一层在某个词元处会预测什么：点击一个词元，再点“在此处看对数透镜”。</translation>
        </message>
        <message>
            <source>Prompt</source>
            <translation>提示词</translation>
        </message>
        <message>
            <source>The exact text the model reads, token by token.</source>
            <translation>模型实际读到的文本，逐个词元显示。</translation>
        </message>
        <message>
            <source>Architecture</source>
            <translation>架构</translation>
        </message>
        <message>
            <source>The loaded model's layers and sizes.</source>
            <translation>已加载模型的层与尺寸。</translation>
        </message>
    </context>
    <context>
        <name>InspectController</name>
        <message>
            <source>No attention yet: load a model and write to it; the attention of the conversation appears here.</source>
            <translation>还没有注意力：加载模型并和它对话；对话的注意力会显示在这里。</translation>
        </message>
        <message>
            <source>The model is writing; the attention over the conversation appears when the reply ends.</source>
            <translation>模型正在生成；回复结束后显示对话上的注意力。</translation>
        </message>
        <message>
            <source>{ids:,} tokens: press Compute for their attention (it takes a few seconds).</source>
            <translation>{ids:,} 个词元：按“计算”得到它们的注意力（需要几秒钟）。</translation>
        </message>
        <message>
            <source>The model is writing; the logit lens is computed when the reply ends.</source>
            <translation>模型正在生成；回复结束后计算对数透镜。</translation>
        </message>
        <message>
            <source>Available when a model is loaded and not writing.</source>
            <translation>在模型已加载且没有在生成时可用。</translation>
        </message>
        <message>
            <source>Computing the logit lens over {n} tokens…</source>
            <translation>正在计算 {n} 个词元的对数透镜…</translation>
        </message>
        <message>
            <source>Attention needs a loaded model and a conversation.</source>
            <translation>注意力需要已加载的模型和一段对话。</translation>
        </message>
        <message>
            <source>Computing attention over {ids:,} tokens…</source>
            <translation>正在计算 {ids:,} 个词元的注意力…</translation>
        </message>
        <message>
            <source>Attention: {L} layers × {H} heads over {T} tokens.</source>
            <translation>注意力：{L} 层 × {H} 个头，覆盖 {T} 个词元。</translation>
        </message>
        <message>
            <source>Could not compute: {message}</source>
            <translation>无法计算：{message}</translation>
        </message>
        <message>
            <source>Could not compute attention: {message}</source>
            <translation>无法计算注意力：{message}</translation>
        </message>
        <message>
            <source>Could not compute the logit lens: {message}</source>
            <translation>无法计算对数透镜：{message}</translation>
        </message>
        <message>
            <source>Could not look inside: {message}</source>
            <translation>无法查看模型内部：{message}</translation>
        </message>
    </context>
    <context>
        <name>LensView</name>
        <message>
            <source>layer {n}</source>
            <translation>第 {n} 层</translation>
        </message>
        <message>
            <source>The logit lens: for one position, the tokens each layer's residual stream would predict through the final norm and the unembedding.</source>
            <translation>对数透镜：在某个位置，每一层的残差流经过最终归一化和反嵌入后会预测出的词元。</translation>
        </message>
        <message>
            <source>Nothing to show yet: click a token of a reply, then 'Logit lens here'.</source>
            <translation>还没有可显示的内容：点击回复中的一个词元，再点“在此处看对数透镜”。</translation>
        </message>
        <message>
            <source>embedding</source>
            <translation>嵌入</translation>
        </message>
    </context>
    <context>
        <name>LessonPanel</name>
        <message>
            <source>The last run ended before its last step, and a task counts only runs that finish: start it again and let it run to the end.</source>
            <translation>上一次训练在最后一步之前就结束了，而任务只计算跑完的训练：请重新开始，并让它跑到最后。</translation>
        </message>
        <message>
            <source>The lessons follow the tutorial's chapters; ✓ marks a finished one</source>
            <translation>课程按教程的章节排列；✓ 表示已完成</translation>
        </message>
        <message>
            <source>Your answer</source>
            <translation>你的答案</translation>
        </message>
        <message>
            <source>Check</source>
            <translation>检查</translation>
        </message>
        <message>
            <source>◀ Back</source>
            <translation>◀ 上一步</translation>
        </message>
        <message>
            <source>Start over</source>
            <translation>从头开始</translation>
        </message>
        <message>
            <source>Next ▶</source>
            <translation>下一步 ▶</translation>
        </message>
        <message>
            <source>Choose a lesson…</source>
            <translation>选择一课…</translation>
        </message>
        <message>
            <source>Some lesson files could not be used: %1</source>
            <translation>有些课程文件无法使用：%1</translation>
        </message>
        <message>
            <source>Each lesson walks through a chapter of the tutorial on the live model: it points at the part of the window to look at, fills in the prompt, runs the model, and asks a question whose answer you can read off the screen.</source>
            <translation>每一课都在真实运行的模型上走一遍教程的一章：它指出窗口中要看的部分，填好提示词，运行模型，再提一个能从屏幕上读出答案的问题。</translation>
        </message>
        <message>
            <source>Step %1 of %2</source>
            <translation>第 %1 步，共 %2 步</translation>
        </message>
        <message>
            <source>I did it — check</source>
            <translation>我做好了 — 检查</translation>
        </message>
        <message>
            <source>Done before — you may go on.</source>
            <translation>之前已完成 — 可以继续。</translation>
        </message>
        <message>
            <source>Pick one of the answers first.</source>
            <translation>请先选一个答案。</translation>
        </message>
        <message>
            <source>Right.</source>
            <translation>正确。</translation>
        </message>
        <message>
            <source>Not yet: do what the step asks first.</source>
            <translation>还没有：先完成这一步要求的操作。</translation>
        </message>
        <message>
            <source>Not quite.</source>
            <translation>不太对。</translation>
        </message>
        <message>
            <source>This step could not run: %1</source>
            <translation>这一步无法运行：%1</translation>
        </message>
        <message>
            <source>Finish ✓</source>
            <translation>完成 ✓</translation>
        </message>
        <message>
            <source>Lesson finished: %1.</source>
            <translation>课程完成：%1。</translation>
        </message>
    </context>
    <context>
        <name>LessonsController</name>
        <message>
            <source>Lessons</source>
            <translation>课程</translation>
        </message>
        <message>
            <source>Guided lessons that walk the tutorial on the live model</source>
            <translation>在真实运行的模型上跟着教程走的引导课程</translation>
        </message>
        <message>
            <source>Settings…</source>
            <translation>设置…</translation>
        </message>
        <message>
            <source>The interface's language</source>
            <translation>界面语言</translation>
        </message>
    </context>
    <context>
        <name>Loading</name>
        <message>
            <source>cannot read {path}: {error}</source>
            <translation>无法读取 {path}：{error}</translation>
        </message>
        <message>
            <source>{path} does not exist</source>
            <translation>{path} 不存在</translation>
        </message>
        <message>
            <source>{name} is not a model file Playground knows (.gguf, or a folder with config.json)</source>
            <translation>{name} 不是 Playground 认识的模型文件（.gguf，或含有 config.json 的文件夹）</translation>
        </message>
    </context>
    <context>
        <name>MainWindow</name>
        <message>
            <source>{n} damaged message(s) were set aside: {which}</source>
            <translation>{n} 条损坏的消息被放在一边：{which}</translation>
        </message>
        <message>
            <source>Main</source>
            <translation>主工具栏</translation>
        </message>
        <message>
            <source>No model</source>
            <translation>没有模型</translation>
        </message>
        <message>
            <source>Choose the model to chat with</source>
            <translation>选择要聊天的模型</translation>
        </message>
        <message>
            <source>New chat</source>
            <translation>新对话</translation>
        </message>
        <message>
            <source>Studio</source>
            <translation>工作室</translation>
        </message>
        <message>
            <source>Build, pretrain, fine-tune and evaluate a small model</source>
            <translation>搭建、预训练、微调并评估一个小模型</translation>
        </message>
        <message>
            <source>Compare settings…</source>
            <translation>比较设置…</translation>
        </message>
        <message>
            <source>A/B decoding: the same question under two or more sets of sampling parameters, side by side</source>
            <translation>A/B 解码：同一个问题在两组或更多组采样参数下的回答，并排比较</translation>
        </message>
        <message>
            <source>System prompt…</source>
            <translation>系统提示词…</translation>
        </message>
        <message>
            <source>Instructions the model sees before the conversation</source>
            <translation>模型在对话之前看到的指示</translation>
        </message>
        <message>
            <source>Inside the model</source>
            <translation>模型内部</translation>
        </message>
        <message>
            <source>Beside the chat: what the model chose between at each token, its attention, the logit lens, the prompt and the architecture (Ctrl+I)</source>
            <translation>在聊天旁边：模型在每个词元处的候选、它的注意力、对数透镜、提示词和架构（Ctrl+I）</translation>
        </message>
        <message>
            <source>Download SmolLM2-135M (94 MB)</source>
            <translation>下载 SmolLM2-135M（94 MB）</translation>
        </message>
        <message>
            <source>Open a model…</source>
            <translation>打开模型…</translation>
        </message>
        <message>
            <source>Message the model (Enter to send, Shift+Enter for a new line)</source>
            <translation>给模型发消息（Enter 发送，Shift+Enter 换行）</translation>
        </message>
        <message>
            <source>Send</source>
            <translation>发送</translation>
        </message>
        <message>
            <source>Stop</source>
            <translation>停止</translation>
        </message>
        <message>
            <source>Stop the reply (Esc)</source>
            <translation>停止回复（Esc）</translation>
        </message>
        <message>
            <source>Sampling</source>
            <translation>采样</translation>
        </message>
        <message>
            <source>Undo delete</source>
            <translation>撤销删除</translation>
        </message>
        <message>
            <source>Starting…</source>
            <translation>正在启动…</translation>
        </message>
        <message>
            <source>Replaying…</source>
            <translation>正在重放…</translation>
        </message>
        <message>
            <source>Edit message</source>
            <translation>编辑消息</translation>
        </message>
        <message>
            <source>New text (the old version is kept):</source>
            <translation>新文本（旧版本会保留）：</translation>
        </message>
        <message>
            <source>System prompt</source>
            <translation>系统提示词</translation>
        </message>
        <message>
            <source>Instructions for the model:</source>
            <translation>给模型的指示：</translation>
        </message>
        <message>
            <source>The studio is not available in this window.</source>
            <translation>这个窗口里没有工作室。</translation>
        </message>
        <message>
            <source>History not saved: {error}</source>
            <translation>历史记录未保存：{error}</translation>
        </message>
        <message>
            <source>History not saved</source>
            <translation>历史记录未保存</translation>
        </message>
        <message>
            <source>{error}

The conversation stays on screen; export it to keep a copy.</source>
            <translation>{error}

对话仍留在屏幕上；导出它可以保留一份副本。</translation>
        </message>
        <message>
            <source>draft {draft} tokens · conversation {used} of {context} tokens</source>
            <translation>草稿 {draft} 个词元 · 对话 {used} / {context} 个词元</translation>
        </message>
    </context>
    <context>
        <name>MessageWidget</name>
        <message>
            <source>You</source>
            <translation>你</translation>
        </message>
        <message>
            <source>Assistant</source>
            <translation>助手</translation>
        </message>
        <message>
            <source>Previous version</source>
            <translation>上一个版本</translation>
        </message>
        <message>
            <source>Next version</source>
            <translation>下一个版本</translation>
        </message>
        <message>
            <source>Copy</source>
            <translation>复制</translation>
        </message>
        <message>
            <source>Copy this message's text</source>
            <translation>复制这条消息的文本</translation>
        </message>
        <message>
            <source>Replay</source>
            <translation>重放</translation>
        </message>
        <message>
            <source>Generate this reply again from its seed and parameter timeline and check that every token is the same</source>
            <translation>用它的种子和参数时间线重新生成这条回复，并检查每个词元是否相同</translation>
        </message>
        <message>
            <source>Tokens</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>Show the reply token by token, coloured by surprisal (−log p); click a token to inspect it</source>
            <translation>逐词元显示回复，按意外度（−log p）着色；点击词元查看详情</translation>
        </message>
        <message>
            <source>Compare…</source>
            <translation>比较…</translation>
        </message>
        <message>
            <source>Compare with other settings…: the same question answered under two or more sets of sampling parameters, side by side</source>
            <translation>用其他设置比较…：同一个问题在两组或更多组采样参数下的回答，并排显示</translation>
        </message>
        <message>
            <source>Regenerate</source>
            <translation>重新生成</translation>
        </message>
        <message>
            <source>Write a new version of this reply (Ctrl+R)</source>
            <translation>写出这条回复的一个新版本（Ctrl+R）</translation>
        </message>
        <message>
            <source>Edit</source>
            <translation>编辑</translation>
        </message>
        <message>
            <source>Change this message and send it again; the old branch is kept</source>
            <translation>修改这条消息并重新发送；旧的分支会保留</translation>
        </message>
        <message>
            <source> · surprisal: white = expected, red = surprising; every other token a shade darker, so each one's edges show</source>
            <translation> · 意外度：白 = 意料之中，红 = 出乎意料；相邻词元一浅一深，每个词元的边界都看得见</translation>
        </message>
        <message>
            <source> · blue, lined above and below: the token the Token tab shows</source>
            <translation> · 蓝色、上下加线：“词元”标签页正在显示的词元</translation>
        </message>
    </context>
    <context>
        <name>ModelController</name>
        <message>
            <source>for the lesson; {name} comes back when you close the lessons</source>
            <translation>仅用于本课；关闭课程后会换回 {name}</translation>
        </message>
        <message>
            <source>No model is installed yet.</source>
            <translation>还没有安装模型。</translation>
        </message>
        <message>
            <source>No model: download the default one or open a model file.</source>
            <translation>没有模型：下载默认模型，或打开一个模型文件。</translation>
        </message>
        <message>
            <source>Loading {path} …</source>
            <translation>正在加载 {path} …</translation>
        </message>
        <message>
            <source>{quantization}, {params:.0f} M parameters, context {context}, {backend}</source>
            <translation>{quantization}，{params:.0f} M 参数，上下文 {context}，{backend}</translation>
        </message>
        <message>
            <source>Loaded {name} in {seconds:.1f} s ({backend})</source>
            <translation>已加载 {name}，用时 {seconds:.1f} 秒（{backend}）</translation>
        </message>
        <message>
            <source>The model could not be loaded.</source>
            <translation>模型无法加载。</translation>
        </message>
        <message>
            <source>Could not load the model</source>
            <translation>无法加载模型</translation>
        </message>
        <message>
            <source>Download failed</source>
            <translation>下载失败</translation>
        </message>
    </context>
    <context>
        <name>ModelInfo</name>
        <message>
            <source>Q8_0 blocks, quantized at load from {type}</source>
            <translation>Q8_0 块，加载时由 {type} 量化</translation>
        </message>
        <message>
            <source>{type}, as stored</source>
            <translation>{type}，与文件中相同</translation>
        </message>
        <message>
            <source>weights {weights} · {mb:.0f} MB</source>
            <translation>权重 {weights} · {mb:.0f} MB</translation>
        </message>
    </context>
    <context>
        <name>ModelPicker</name>
        <message>
            <source>Name</source>
            <translation>名称</translation>
        </message>
        <message>
            <source>Source</source>
            <translation>来源</translation>
        </message>
        <message>
            <source>Format</source>
            <translation>格式</translation>
        </message>
        <message>
            <source>Quantization</source>
            <translation>量化</translation>
        </message>
        <message>
            <source>Parameters</source>
            <translation>参数</translation>
        </message>
        <message>
            <source>Size</source>
            <translation>大小</translation>
        </message>
        <message>
            <source>Path</source>
            <translation>路径</translation>
        </message>
        <message>
            <source>Choose a model</source>
            <translation>选择模型</translation>
        </message>
        <message>
            <source>Loaded now: {path}</source>
            <translation>当前已加载：{path}</translation>
        </message>
        <message>
            <source>Looking for models on this computer…</source>
            <translation>正在这台电脑上查找模型…</translation>
        </message>
        <message>
            <source>Open file…</source>
            <translation>打开文件…</translation>
        </message>
        <message>
            <source>A .gguf file</source>
            <translation>一个 .gguf 文件</translation>
        </message>
        <message>
            <source>Open folder…</source>
            <translation>打开文件夹…</translation>
        </message>
        <message>
            <source>A Hugging Face model folder (config.json, *.safetensors, tokenizer.json) or a Playground checkpoint</source>
            <translation>一个 Hugging Face 模型文件夹（config.json、*.safetensors、tokenizer.json）或 Playground 检查点</translation>
        </message>
        <message>
            <source>Device</source>
            <translation>设备</translation>
        </message>
        <message>
            <source>auto</source>
            <translation>自动</translation>
        </message>
        <message>
            <source>Where the model runs; 'auto' takes a CUDA or Apple GPU when there is one</source>
            <translation>模型在哪里运行；“自动”会在有 CUDA 或 Apple GPU 时使用它</translation>
        </message>
        <message>
            <source>Precision</source>
            <translation>精度</translation>
        </message>
        <message>
            <source>exact</source>
            <translation>原样</translation>
        </message>
        <message>
            <source>auto: on a CPU, Llama-family models run on the fast path: a GGUF keeps its quantized weights, a float model (Hugging Face folder, Studio checkpoint) is quantized at load to 8-bit blocks
exact: the weights exactly as stored (bfloat16 stays bfloat16)
float32 / bfloat16: the reference model in that precision</source>
            <translation>自动：在 CPU 上，Llama 系列模型走快速路径：GGUF 保留其量化权重，浮点模型（Hugging Face 文件夹、工作室检查点）在加载时量化为 8 位块
原样：权重完全按存储的样子使用（bfloat16 仍是 bfloat16）
float32 / bfloat16：以该精度运行参考模型</translation>
        </message>
        <message>
            <source>{rows} model(s) found.</source>
            <translation>找到 {rows} 个模型。</translation>
        </message>
        <message>
            <source>No models found. Open a file or folder, or fetch the default model.</source>
            <translation>没有找到模型。打开一个文件或文件夹，或下载默认模型。</translation>
        </message>
        <message>
            <source>Open a model file</source>
            <translation>打开模型文件</translation>
        </message>
        <message>
            <source>GGUF models (*.gguf);;All files (*)</source>
            <translation>GGUF 模型 (*.gguf);;所有文件 (*)</translation>
        </message>
        <message>
            <source>Open a model folder</source>
            <translation>打开模型文件夹</translation>
        </message>
        <message>
            <source>Remote endpoint…</source>
            <translation>远程端点…</translation>
        </message>
        <message>
            <source>A model served elsewhere through an OpenAI-compatible API (vLLM, llama.cpp's server, Ollama, another Playground)</source>
            <translation>由别处通过 OpenAI 兼容 API 提供的模型（vLLM、llama.cpp 的服务器、Ollama、另一个 Playground）</translation>
        </message>
    </context>
    <context>
        <name>PromptView</name>
        <message>
            <source>The prompt the model reads, token by token, appears here once a conversation has a reply.</source>
            <translation>对话有了回复后，这里逐个词元显示模型读到的提示词。</translation>
        </message>
    </context>
    <context>
        <name>Records</name>
        <message>
            <source>{n} tokens</source>
            <translation>{n} 个词元</translation>
        </message>
        <message>
            <source>first token {ms:.0f} ms</source>
            <translation>首词元 {ms:.0f} 毫秒</translation>
        </message>
        <message>
            <source>stopped</source>
            <translation>已停止</translation>
        </message>
        <message>
            <source>hit the token limit</source>
            <translation>达到词元上限</translation>
        </message>
        <message>
            <source>error: {error}</source>
            <translation>错误：{error}</translation>
        </message>
    </context>
    <context>
        <name>RemoteController</name>
        <message>
            <source>Remote model: the server reads the parameters once per request, so a change applies from the next reply, not the one being written.</source>
            <translation>远程模型：服务器每次请求时读取一次参数，所以更改从下一条回复起生效，而不是正在写的这条。</translation>
        </message>
        <message>
            <source>Wait for the reply to finish (or stop it) before switching models.</source>
            <translation>请等回复结束（或停止它）后再切换模型。</translation>
        </message>
        <message>
            <source>{name} ▾ (remote)</source>
            <translation>{name} ▾（远程）</translation>
        </message>
        <message>
            <source>{name} at {url}
runs on that server; parameters apply per request</source>
            <translation>{name}，位于 {url}
在该服务器上运行；参数按每次请求生效</translation>
        </message>
        <message>
            <source>Chatting with {name} at {url}.</source>
            <translation>正在与 {url} 上的 {name} 对话。</translation>
        </message>
        <message>
            <source>Remote model: this change applies from the next reply.</source>
            <translation>远程模型：此更改从下一条回复起生效。</translation>
        </message>
    </context>
    <context>
        <name>RemoteDialog</name>
        <message>
            <source>Remote model</source>
            <translation>远程模型</translation>
        </message>
        <message>
            <source>Chat with a model served elsewhere through an OpenAI-compatible API (vLLM, llama.cpp's server, Ollama, LM Studio, another Playground).</source>
            <translation>与别处通过 OpenAI 兼容 API 提供的模型对话（vLLM、llama.cpp 的服务器、Ollama、LM Studio、另一个 Playground）。</translation>
        </message>
        <message>
            <source>The endpoint's base address, e.g. http://127.0.0.1:8080/v1 (/v1 is added when the address has no path)</source>
            <translation>端点的基础地址，例如 http://127.0.0.1:8080/v1（地址没有路径时会补上 /v1）</translation>
        </message>
        <message>
            <source>Address</source>
            <translation>地址</translation>
        </message>
        <message>
            <source>optional</source>
            <translation>可选</translation>
        </message>
        <message>
            <source>Sent as 'Authorization: Bearer &lt;key&gt;' when the server needs one</source>
            <translation>服务器需要时，以 'Authorization: Bearer &lt;key&gt;' 发送</translation>
        </message>
        <message>
            <source>API key</source>
            <translation>API 密钥</translation>
        </message>
        <message>
            <source>Fetch models</source>
            <translation>获取模型列表</translation>
        </message>
        <message>
            <source>Ask the endpoint which models it serves (GET /models)</source>
            <translation>询问端点提供哪些模型（GET /models）</translation>
        </message>
        <message>
            <source>Model</source>
            <translation>模型</translation>
        </message>
        <message>
            <source>Fetch the endpoint's models, then choose one.</source>
            <translation>先获取端点的模型列表，再选择一个。</translation>
        </message>
        <message>
            <source>Use this model</source>
            <translation>使用此模型</translation>
        </message>
        <message>
            <source>Cancel</source>
            <translation>取消</translation>
        </message>
        <message>
            <source>Asking {url} …</source>
            <translation>正在询问 {url} …</translation>
        </message>
        <message>
            <source>Could not list the models: {error}</source>
            <translation>无法列出模型：{error}</translation>
        </message>
        <message>
            <source>{n} model(s) served there.</source>
            <translation>该处提供 {n} 个模型。</translation>
        </message>
        <message>
            <source>The endpoint lists no models.</source>
            <translation>该端点没有列出任何模型。</translation>
        </message>
    </context>
    <context>
        <name>Replay</name>
        <message>
            <source>Cannot replay: {reason}</source>
            <translation>无法重放：{reason}</translation>
        </message>
        <message>
            <source>Replayed: all {n} tokens are identical.</source>
            <translation>已重放：全部 {n} 个词元完全相同。</translation>
        </message>
        <message>
            <source>Replayed, but {reason}.</source>
            <translation>已重放，但{reason}。</translation>
        </message>
    </context>
    <context>
        <name>SamplingPanel</name>
        <message>
            <source>Named sets of parameters: a few of ours and the defaults of other apps.</source>
            <translation>有名字的参数组：几组是我们的，另一些是其他应用的默认值。</translation>
        </message>
        <message>
            <source>Save…</source>
            <translation>保存…</translation>
        </message>
        <message>
            <source>Save the current parameters as a preset of your own.</source>
            <translation>把当前参数保存为自定义预设。</translation>
        </message>
        <message>
            <source>Delete</source>
            <translation>删除</translation>
        </message>
        <message>
            <source>Delete the selected preset of your own.</source>
            <translation>删除选中的自定义预设。</translation>
        </message>
        <message>
            <source>Reset</source>
            <translation>重置</translation>
        </message>
        <message>
            <source>Back to the chosen preset's values.</source>
            <translation>恢复为所选预设的值。</translation>
        </message>
        <message>
            <source>fixed</source>
            <translation>固定</translation>
        </message>
        <message>
            <source>Seed</source>
            <translation>种子</translation>
        </message>
        <message>
            <source>e.g. \n\n | THE END</source>
            <translation>例如 \n\n | THE END</translation>
        </message>
        <message>
            <source>Stop when any of these strings appears (separate several with |; \n is a newline).</source>
            <translation>出现其中任一字符串时停止（多个用 | 分隔；\n 表示换行）。</translation>
        </message>
        <message>
            <source>Stop strings</source>
            <translation>停止字符串</translation>
        </message>
        <message>
            <source>Temperature</source>
            <translation>温度</translation>
        </message>
        <message>
            <source>Divides the logits before softmax: below 1 sharpens the distribution, above 1 flattens it; 0 always takes the most likely token.</source>
            <translation>在 softmax 之前用它除 logits：小于 1 让分布更尖锐，大于 1 让分布更平坦；0 总是选最可能的词元。</translation>
        </message>
        <message>
            <source>Top-p</source>
            <translation>Top-p</translation>
        </message>
        <message>
            <source>Keeps the smallest set of most likely tokens whose probabilities add up to p (nucleus sampling); 1 turns it off.</source>
            <translation>保留概率之和达到 p 的最小一组最可能的词元（核采样）；1 表示关闭。</translation>
        </message>
        <message>
            <source>Min-p</source>
            <translation>Min-p</translation>
        </message>
        <message>
            <source>Drops tokens less likely than min-p times the most likely token's probability; 0 turns it off.</source>
            <translation>丢弃概率低于“min-p × 最可能词元的概率”的词元；0 表示关闭。</translation>
        </message>
        <message>
            <source>Typical-p</source>
            <translation>Typical-p</translation>
        </message>
        <message>
            <source>Keeps tokens whose surprise is closest to the average surprise (the entropy), up to mass p; 1 turns it off.</source>
            <translation>保留意外度最接近平均意外度（即熵）的词元，直到累计概率达到 p；1 表示关闭。</translation>
        </message>
        <message>
            <source>Repetition penalty</source>
            <translation>重复惩罚</translation>
        </message>
        <message>
            <source>Makes tokens that appeared recently less likely (above 1) or more likely (below 1).</source>
            <translation>让最近出现过的词元变得更不可能（大于 1）或更可能（小于 1）。</translation>
        </message>
        <message>
            <source>Presence penalty</source>
            <translation>存在惩罚</translation>
        </message>
        <message>
            <source>Subtracts this from the logit of every token that has appeared at all, nudging the model to new words.</source>
            <translation>对每个出现过的词元，从它的 logit 中减去此值，推动模型使用新词。</translation>
        </message>
        <message>
            <source>Frequency penalty</source>
            <translation>频率惩罚</translation>
        </message>
        <message>
            <source>Subtracts this once per earlier occurrence, so often-repeated tokens are pushed down the most.</source>
            <translation>词元每出现过一次就减一次此值，所以重复越多的词元被压得越低。</translation>
        </message>
        <message>
            <source>Top-k</source>
            <translation>Top-k</translation>
        </message>
        <message>
            <source>Keeps only the k most likely tokens before sampling; 0 turns it off.</source>
            <translation>采样前只保留最可能的 k 个词元；0 表示关闭。</translation>
        </message>
        <message>
            <source>Penalty window</source>
            <translation>惩罚窗口</translation>
        </message>
        <message>
            <source>How many recent tokens the penalties look at.</source>
            <translation>惩罚项考虑最近多少个词元。</translation>
        </message>
        <message>
            <source>Max new tokens</source>
            <translation>最多新词元数</translation>
        </message>
        <message>
            <source>The reply stops after this many tokens.</source>
            <translation>回复生成这么多词元后停止。</translation>
        </message>
        <message>
            <source>Precise</source>
            <translation>精确</translation>
        </message>
        <message>
            <source>Balanced</source>
            <translation>均衡</translation>
        </message>
        <message>
            <source>Creative</source>
            <translation>创意</translation>
        </message>
        <message>
            <source>Greedy</source>
            <translation>贪心</translation>
        </message>
        <message>
            <source>random</source>
            <translation>随机</translation>
        </message>
        <message>
            <source>none</source>
            <translation>无</translation>
        </message>
        <message>
            <source>The random seed: fix it and the same prompt and parameters give the same reply every time.</source>
            <translation>随机种子：固定它，相同的提示词和参数每次都给出相同的回复。</translation>
        </message>
        <message>
            <source>&lt;b&gt;Changed from {preset_name}:&lt;/b&gt; </source>
            <translation>&lt;b&gt;相对“{preset_name}”的改动：&lt;/b&gt; </translation>
        </message>
        <message>
            <source>The {preset_name} preset's values.</source>
            <translation>“{preset_name}”预设的值。</translation>
        </message>
        <message>
            <source>Reset to {preset_name}</source>
            <translation>重置为“{preset_name}”</translation>
        </message>
        <message>
            <source>Presets…</source>
            <translation>预设…</translation>
        </message>
        <message>
            <source>Save preset</source>
            <translation>保存预设</translation>
        </message>
        <message>
            <source>Name:</source>
            <translation>名称：</translation>
        </message>
    </context>
    <context>
        <name>ScoreTable</name>
        <message>
            <source>#</source>
            <translation>#</translation>
        </message>
        <message>
            <source>token</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>p</source>
            <translation>p</translation>
        </message>
        <message>
            <source>−log p</source>
            <translation>−log p</translation>
        </message>
        <message>
            <source>Computing…</source>
            <translation>正在计算…</translation>
        </message>
        <message>
            <source>“%1” — its first token “%2” has nothing before it.</source>
            <translation>“%1” — 它的第一个词元“%2”前面什么也没有。</translation>
        </message>
        <message>
            <source>sum of −log p = %1 over n = %2 tokens</source>
            <translation>−log p 之和 = %1，共 n = %2 个词元</translation>
        </message>
        <message>
            <source>loss L = sum / n = %1 nats per token</source>
            <translation>损失 L = 总和 / n = 每词元 %1 奈特</translation>
        </message>
        <message>
            <source>perplexity = e^L = %1</source>
            <translation>困惑度 = e^L = %1</translation>
        </message>
    </context>
    <context>
        <name>SentenceScore</name>
        <message>
            <source>4. Score a sentence</source>
            <translation>4. 给句子打分</translation>
        </message>
        <message>
            <source>The cross-entropy loss of this text under the checkpoint: the mean of −log p over its tokens, each predicted from the ones before it</source>
            <translation>这段文本在该检查点下的交叉熵损失：各词元 −log p 的平均值，每个词元都由它前面的词元预测</translation>
        </message>
        <message>
            <source>Score</source>
            <translation>评分</translation>
        </message>
        <message>
            <source>Scoring under %1…</source>
            <translation>正在用 %1 打分…</translation>
        </message>
        <message>
            <source>%1 tokens predicted · loss %2 nats per token · perplexity %3 (under %4)</source>
            <translation>预测了 %1 个词元 · 损失 每词元 %2 奈特 · 困惑度 %3（模型：%4）</translation>
        </message>
    </context>
    <context>
        <name>ServerController</name>
        <message>
            <source>Load a model first: the server serves the loaded model.</source>
            <translation>请先加载模型：服务器提供的是已加载的模型。</translation>
        </message>
        <message>
            <source>Starting on {host}:{port} …</source>
            <translation>正在 {host}:{port} 上启动 …</translation>
        </message>
        <message>
            <source>Cannot listen on {host}:{port}: {error}</source>
            <translation>无法在 {host}:{port} 上监听：{error}</translation>
        </message>
        <message>
            <source>API: {url}</source>
            <translation>API：{url}</translation>
        </message>
        <message>
            <source>Served API request {id} ({n} tokens).</source>
            <translation>已响应 API 请求 {id}（{n} 个词元）。</translation>
        </message>
    </context>
    <context>
        <name>ServerPanel</name>
        <message>
            <source>API server</source>
            <translation>API 服务器</translation>
        </message>
        <message>
            <source>Serve the loaded model over an OpenAI-compatible API, so editors, notebooks and agents can use it. Requests appear in the history as “API · …”.</source>
            <translation>通过 OpenAI 兼容 API 提供已加载的模型，供编辑器、笔记本和智能体使用。请求会以“API · …”出现在历史记录中。</translation>
        </message>
        <message>
            <source>127.0.0.1: this computer only. Any other address needs an API key.</source>
            <translation>127.0.0.1：仅限本机。其他任何地址都需要 API 密钥。</translation>
        </message>
        <message>
            <source>Address</source>
            <translation>地址</translation>
        </message>
        <message>
            <source>Port</source>
            <translation>端口</translation>
        </message>
        <message>
            <source>optional on 127.0.0.1; required on any other address</source>
            <translation>在 127.0.0.1 上可选；其他任何地址必填</translation>
        </message>
        <message>
            <source>API key</source>
            <translation>API 密钥</translation>
        </message>
        <message>
            <source>Start serving</source>
            <translation>开始服务</translation>
        </message>
        <message>
            <source>Not serving.</source>
            <translation>未在服务。</translation>
        </message>
        <message>
            <source>Copy {what}</source>
            <translation>复制 {what}</translation>
        </message>
        <message>
            <source>Stop serving</source>
            <translation>停止服务</translation>
        </message>
        <message>
            <source>Serving {model} at {url}</source>
            <translation>正在 {url} 提供 {model}</translation>
        </message>
    </context>
    <context>
        <name>Serving</name>
        <message>
            <source>API server…</source>
            <translation>API 服务器…</translation>
        </message>
        <message>
            <source>Serve the loaded model over an OpenAI-compatible API (for editors, notebooks, agents)</source>
            <translation>通过 OpenAI 兼容 API 提供已加载的模型（供编辑器、笔记本、智能体使用）</translation>
        </message>
    </context>
    <context>
        <name>SettingsDialog</name>
        <message>
            <source>Settings</source>
            <translation>设置</translation>
        </message>
        <message>
            <source>As the system (%1)</source>
            <translation>跟随系统（%1）</translation>
        </message>
        <message>
            <source>Language</source>
            <translation>语言</translation>
        </message>
        <message>
            <source>Playground starts again in the new language; your conversations are kept and the model loads again.</source>
            <translation>Playground 会以新语言重新启动；你的对话会保留，模型会重新加载。</translation>
        </message>
    </context>
    <context>
        <name>SideEditor</name>
        <message>
            <source>Side %1</source>
            <translation>方案 %1</translation>
        </message>
        <message>
            <source>(custom)</source>
            <translation>（自定义）</translation>
        </message>
        <message>
            <source>Start from a named set of parameters</source>
            <translation>从一组有名字的参数开始</translation>
        </message>
        <message>
            <source>Preset</source>
            <translation>预设</translation>
        </message>
        <message>
            <source>Divides the logits before softmax; 0 always takes the most likely token</source>
            <translation>在 softmax 之前用它除 logits；0 总是选最可能的词元</translation>
        </message>
        <message>
            <source>Keep only the k most likely tokens; 0 turns it off</source>
            <translation>只保留最可能的 k 个词元；0 表示关闭</translation>
        </message>
        <message>
            <source>Keep the most likely tokens up to this much probability; 1 turns it off</source>
            <translation>保留最可能的词元，直到累计概率达到此值；1 表示关闭</translation>
        </message>
        <message>
            <source>Drop tokens less likely than this times the top token; 0 turns it off</source>
            <translation>丢弃概率低于“最高词元概率 × 此值”的词元；0 表示关闭</translation>
        </message>
        <message>
            <source>The random seed: the same seed and parameters give the same reply</source>
            <translation>随机种子：相同的种子和参数给出相同的回复</translation>
        </message>
        <message>
            <source>Each side stops after this many tokens</source>
            <translation>每个方案生成这么多词元后停止</translation>
        </message>
        <message>
            <source>Temperature</source>
            <translation>温度</translation>
        </message>
        <message>
            <source>Top-k</source>
            <translation>Top-k</translation>
        </message>
        <message>
            <source>Top-p</source>
            <translation>Top-p</translation>
        </message>
        <message>
            <source>Min-p</source>
            <translation>Min-p</translation>
        </message>
        <message>
            <source>Seed</source>
            <translation>种子</translation>
        </message>
        <message>
            <source>Max new tokens</source>
            <translation>最多新词元数</translation>
        </message>
    </context>
    <context>
        <name>StudioWindow</name>
        <message>
            <source>Waiting for the first step…</source>
            <translation>等待第一步……</translation>
        </message>
        <message>
            <source>No data yet — the validation loss is measured while training, a few times a run.</source>
            <translation>还没有数据——验证损失在训练中测量，每次训练测几次。</translation>
        </message>
        <message>
            <source>No data yet — press Pretrain to start training.</source>
            <translation>还没有数据——按“预训练”开始训练。</translation>
        </message>
        <message>
            <source>{done}; checkpoint in {path}. The tutorial encoder's runs are compared in the lesson; the chat, fine-tuning and evaluation take Llama and GPT-2 models.</source>
            <translation>{done}；检查点保存在 {path}。教程编码器的训练结果在课程中比较；对话、微调和评估使用 Llama 和 GPT-2 模型。</translation>
        </message>
        <message>
            <source>Playground studio</source>
            <translation>Playground 工作室</translation>
        </message>
        <message>
            <source>1. Corpus and tokenizer</source>
            <translation>1. 语料与分词器</translation>
        </message>
        <message>
            <source>Shakespeare's plays (bundled, 4.8 M characters)</source>
            <translation>莎士比亚戏剧（随附，480 万字符）</translation>
        </message>
        <message>
            <source>Choose files…</source>
            <translation>选择文件…</translation>
        </message>
        <message>
            <source>Byte-level BPE (merges frequent pairs of bytes) or one token per character</source>
            <translation>字节级 BPE（合并高频的字节对）或每个字符一个词元</translation>
        </message>
        <message>
            <source>Tokenizer</source>
            <translation>分词器</translation>
        </message>
        <message>
            <source>How many tokens BPE learns</source>
            <translation>BPE 学习多少个词元</translation>
        </message>
        <message>
            <source>Vocabulary</source>
            <translation>词表</translation>
        </message>
        <message>
            <source>Sample sentence</source>
            <translation>样例句子</translation>
        </message>
        <message>
            <source>(its tokens appear here once the tokenizer is trained)</source>
            <translation>（分词器训练好后，这里显示它的词元）</translation>
        </message>
        <message>
            <source>2. Model</source>
            <translation>2. 模型</translation>
        </message>
        <message>
            <source>gpt2</source>
            <translation>gpt2</translation>
        </message>
        <message>
            <source>tutorial encoder</source>
            <translation>教程编码器</translation>
        </message>
        <message>
            <source>llama: RoPE, RMSNorm, SwiGLU. gpt2: learned positions, LayerNorm, GELU. tutorial encoder: the tutorial's LanguageModel, nn.TransformerEncoder + Linear, with its two missing pieces as switches</source>
            <translation>llama：RoPE、RMSNorm、SwiGLU。gpt2：学习得到的位置、LayerNorm、GELU。教程编码器：教程里的 LanguageModel，即 nn.TransformerEncoder + Linear，它缺少的两部分做成了开关</translation>
        </message>
        <message>
            <source>Architecture</source>
            <translation>架构</translation>
        </message>
        <message>
            <source>causal mask</source>
            <translation>因果掩码</translation>
        </message>
        <message>
            <source>Each position attends only to itself and the positions before it. The tutorial's code has no mask: the model then sees the very token it must predict</source>
            <translation>每个位置只关注自己和它之前的位置。教程的代码没有掩码：模型于是能看到它要预测的那个词元</translation>
        </message>
        <message>
            <source>positional encoding</source>
            <translation>位置编码</translation>
        </message>
        <message>
            <source>Sines and cosines of the position added to each token's vector. Without them attention sees a bag of tokens, in no order</source>
            <translation>把位置的正弦和余弦加到每个词元的向量上。没有它们，注意力看到的只是一袋没有顺序的词元</translation>
        </message>
        <message>
            <source>Transformer blocks</source>
            <translation>Transformer 块数</translation>
        </message>
        <message>
            <source>Attention heads per block</source>
            <translation>每个块的注意力头数</translation>
        </message>
        <message>
            <source>Width of the residual stream (d_model)</source>
            <translation>残差流的宽度（d_model）</translation>
        </message>
        <message>
            <source>Context length in tokens</source>
            <translation>上下文长度（词元数）</translation>
        </message>
        <message>
            <source>Layers</source>
            <translation>层数</translation>
        </message>
        <message>
            <source>Heads</source>
            <translation>头数</translation>
        </message>
        <message>
            <source>Width</source>
            <translation>宽度</translation>
        </message>
        <message>
            <source>Context</source>
            <translation>上下文</translation>
        </message>
        <message>
            <source>Dropout</source>
            <translation>Dropout</translation>
        </message>
        <message>
            <source>3. Training</source>
            <translation>3. 训练</translation>
        </message>
        <message>
            <source>Optimizer steps</source>
            <translation>优化器步数</translation>
        </message>
        <message>
            <source>Sequences per step</source>
            <translation>每步的序列数</translation>
        </message>
        <message>
            <source>Micro-batches accumulated per step</source>
            <translation>每步累积的微批次数</translation>
        </message>
        <message>
            <source>Peak learning rate; warmup, then cosine decay to a tenth of it</source>
            <translation>峰值学习率；先预热，再按余弦衰减到它的十分之一</translation>
        </message>
        <message>
            <source>Steps</source>
            <translation>步数</translation>
        </message>
        <message>
            <source>Batch</source>
            <translation>批大小</translation>
        </message>
        <message>
            <source>Accumulation</source>
            <translation>梯度累积</translation>
        </message>
        <message>
            <source>Learning rate</source>
            <translation>学习率</translation>
        </message>
        <message>
            <source>Checkpoint folder</source>
            <translation>检查点文件夹</translation>
        </message>
        <message>
            <source>Resume from the checkpoint in this folder</source>
            <translation>从这个文件夹中的检查点继续</translation>
        </message>
        <message>
            <source>After a crash or a stop: continue the same run, on the same curve</source>
            <translation>崩溃或停止之后：继续同一次训练，沿同一条曲线</translation>
        </message>
        <message>
            <source>QA set: the bundled Shakespeare questions</source>
            <translation>问答集：随附的莎士比亚问题</translation>
        </message>
        <message>
            <source>QA file…</source>
            <translation>问答文件…</translation>
        </message>
        <message>
            <source>Your own JSONL of {"question", "answer", "split"} lines</source>
            <translation>你自己的 JSONL 文件，每行是 {"question", "answer", "split"}</translation>
        </message>
        <message>
            <source>Pretrain</source>
            <translation>预训练</translation>
        </message>
        <message>
            <source>Pause</source>
            <translation>暂停</translation>
        </message>
        <message>
            <source>Stop</source>
            <translation>停止</translation>
        </message>
        <message>
            <source>Fine-tune for QA</source>
            <translation>问答微调</translation>
        </message>
        <message>
            <source>From the last checkpoint, on the bundled question-answer set (loss on answers only)</source>
            <translation>从最近的检查点开始，在随附的问答数据集上训练（只在答案上计算损失）</translation>
        </message>
        <message>
            <source>Evaluate</source>
            <translation>评估</translation>
        </message>
        <message>
            <source>Chat with it</source>
            <translation>和它聊天</translation>
        </message>
        <message>
            <source>Set up a model and press Pretrain.</source>
            <translation>设置好模型，然后按“预训练”。</translation>
        </message>
        <message>
            <source>training loss</source>
            <translation>训练损失</translation>
        </message>
        <message>
            <source>validation loss</source>
            <translation>验证损失</translation>
        </message>
        <message>
            <source>loss (nats per token)</source>
            <translation>损失（每词元奈特）</translation>
        </message>
        <message>
            <source>step</source>
            <translation>步</translation>
        </message>
        <message>
            <source>validation perplexity: e^loss, how many tokens it hesitates between</source>
            <translation>验证困惑度：e^损失，即模型在多少个词元之间犹豫</translation>
        </message>
        <message>
            <source>Samples from the model appear here as it trains.</source>
            <translation>训练过程中，模型生成的样例显示在这里。</translation>
        </message>
        <message>
            <source>held-out QA by checkpoint (%)</source>
            <translation>各检查点在留出问答集上的结果（%）</translation>
        </message>
        <message>
            <source>checkpoint</source>
            <translation>检查点</translation>
        </message>
        <message>
            <source>perplexity</source>
            <translation>困惑度</translation>
        </message>
        <message>
            <source>exact match</source>
            <translation>完全匹配</translation>
        </message>
        <message>
            <source>QA pairs</source>
            <translation>问答对</translation>
        </message>
        <message>
            <source>{n} file(s): {name}…</source>
            <translation>{n} 个文件：{name}…</translation>
        </message>
        <message>
            <source>{params:.2f} M parameters · about {memory_mb:.0f} MB to train · about {step_s:.2f} s a step on a laptop CPU ({minutes:.0f} min for {steps} steps)</source>
            <translation>{params:.2f} M 参数 · 训练约需 {memory_mb:.0f} MB · 在笔记本 CPU 上每步约 {step_s:.2f} 秒（{steps} 步约 {minutes:.0f} 分钟）</translation>
        </message>
        <message>
            <source>Training {params:.2f} M parameters → {out}. {summary}</source>
            <translation>正在训练 {params:.2f} M 参数 → {out}。{summary}</translation>
        </message>
        <message>
            <source>{n} tokens: {shown}</source>
            <translation>{n} 个词元：{shown}</translation>
        </message>
        <message>
            <source>step {step}: {sample}</source>
            <translation>第 {step} 步：{sample}</translation>
        </message>
        <message>
            <source> · validation perplexity {ppl:.1f}</source>
            <translation> · 验证困惑度 {ppl:.1f}</translation>
        </message>
        <message>
            <source>step {step}/{total} · loss {loss:.3f} · lr {lr:.1e} · {tokens_per_s:,.0f} tokens/s · ETA {minutes:.1f} min</source>
            <translation>第 {step}/{total} 步 · 损失 {loss:.3f} · 学习率 {lr:.1e} · 每秒 {tokens_per_s:,.0f} 个词元 · 预计还需 {minutes:.1f} 分钟</translation>
        </message>
        <message>
            <source>Stopped</source>
            <translation>已停止</translation>
        </message>
        <message>
            <source>Finished</source>
            <translation>已完成</translation>
        </message>
        <message>
            <source>{done}; checkpoint in {path}. Evaluate it, fine-tune it, or chat with it.</source>
            <translation>{done}；检查点在 {path}。可以评估它、微调它，或和它聊天。</translation>
        </message>
        <message>
            <source>Evaluated {name}: perplexity {ppl}, exact match {em}%, ROUGE-L {rouge}</source>
            <translation>已评估 {name}：困惑度 {ppl}，完全匹配 {em}%，ROUGE-L {rouge}</translation>
        </message>
        <message>
            <source>Question-answer pairs</source>
            <translation>问答对</translation>
        </message>
        <message>
            <source>JSON lines (*.jsonl)</source>
            <translation>JSON 行 (*.jsonl)</translation>
        </message>
        <message>
            <source>QA set: {name}</source>
            <translation>问答集：{name}</translation>
        </message>
        <message>
            <source>Training text</source>
            <translation>训练文本</translation>
        </message>
        <message>
            <source>Text (*.txt *.md *.jsonl)</source>
            <translation>文本 (*.txt *.md *.jsonl)</translation>
        </message>
        <message>
            <source>Training the tokenizer and encoding the corpus…</source>
            <translation>正在训练分词器并编码语料…</translation>
        </message>
        <message>
            <source>Pretrain first: fine-tuning starts from a checkpoint.</source>
            <translation>请先预训练：微调要从一个检查点开始。</translation>
        </message>
        <message>
            <source>Fine-tuning on the question-answer set…</source>
            <translation>正在问答数据集上微调…</translation>
        </message>
        <message>
            <source>Evaluating {name}…</source>
            <translation>正在评估 {name}…</translation>
        </message>
        <message>
            <source>Stopping after this step…</source>
            <translation>这一步结束后停止…</translation>
        </message>
        <message>
            <source>Resume</source>
            <translation>继续</translation>
        </message>
        <message>
            <source>Pausing after this step…</source>
            <translation>这一步结束后暂停…</translation>
        </message>
        <message>
            <source>The tutorial encoder is for the lesson's experiment: the chat, fine-tuning and evaluation take the Llama and GPT-2 models</source>
            <translation>教程编码器用于课程中的实验：聊天、微调和评估使用 Llama 和 GPT-2 模型</translation>
        </message>
        <message>
            <source>Paused after step {step}. Resume to go on, or Stop to keep this checkpoint.</source>
            <translation>已在第 {step} 步后暂停。按“继续”接着训练，或按“停止”保留这个检查点。</translation>
        </message>
        <message>
            <source>Failed: {message}</source>
            <translation>失败：{message}</translation>
        </message>
    </context>
    <context>
        <name>TokenInspector</name>
        <message>
            <source>Click a token of a reply (turn on Tokens under it) to see what the model chose between.</source>
            <translation>点击回复中的一个词元（先打开回复下方的“词元”），查看模型在哪些候选之间做了选择。</translation>
        </message>
        <message>
            <source>penalties</source>
            <translation>惩罚</translation>
        </message>
        <message>
            <source>temperature</source>
            <translation>温度</translation>
        </message>
        <message>
            <source>rescores tokens already used; removes none</source>
            <translation>给已用过的词元重新打分；不移除任何词元</translation>
        </message>
        <message>
            <source>keeps the k most likely</source>
            <translation>保留最可能的 k 个</translation>
        </message>
        <message>
            <source>keeps the tokens of typical surprise, up to mass p</source>
            <translation>保留意外度典型的词元，直到累计概率达到 p</translation>
        </message>
        <message>
            <source>keeps the most likely until their probabilities add up to p</source>
            <translation>按可能性从高到低保留，直到概率之和达到 p</translation>
        </message>
        <message>
            <source>drops tokens below min-p × the most likely one's probability</source>
            <translation>丢弃低于“min-p × 最可能词元概率”的词元</translation>
        </message>
        <message>
            <source>reshapes what is left; removes none</source>
            <translation>重新塑造剩下的分布；不移除任何词元</translation>
        </message>
        <message>
            <source>greedy (temperature 0)</source>
            <translation>贪心（温度 0）</translation>
        </message>
        <message>
            <source>temperature {t:g}</source>
            <translation>温度 {t:g}</translation>
        </message>
        <message>
            <source>How the sampler narrowed the vocabulary down to this token.</source>
            <translation>采样器如何把整个词表缩小到这个词元。</translation>
        </message>
        <message>
            <source>token</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>model p</source>
            <translation>模型 p</translation>
        </message>
        <message>
            <source>sampled p</source>
            <translation>采样 p</translation>
        </message>
        <message>
            <source>what happened</source>
            <translation>发生了什么</translation>
        </message>
        <message>
            <source>Show 50 alternatives</source>
            <translation>显示 50 个候选</translation>
        </message>
        <message>
            <source>Compute this position again: the 50 most likely tokens and how many candidates each sampler stage left</source>
            <translation>重新计算这个位置：最可能的 50 个词元，以及采样器每一步留下了多少候选</translation>
        </message>
        <message>
            <source>Continue with the selected token</source>
            <translation>用选中的词元继续</translation>
        </message>
        <message>
            <source>Cut the reply here, put this token in its place, and let the model go on: a new version of the reply</source>
            <translation>在这里截断回复，换成这个词元，让模型接着写：得到回复的一个新版本</translation>
        </message>
        <message>
            <source>Logit lens here</source>
            <translation>在此处看对数透镜</translation>
        </message>
        <message>
            <source>What each layer would have predicted at this position</source>
            <translation>每一层在这个位置会预测什么</translation>
        </message>
        <message>
            <source>What it attended to</source>
            <translation>它注意了什么</translation>
        </message>
        <message>
            <source>This token's row of attention, over the conversation's text</source>
            <translation>这个词元的注意力行，显示在对话文本上</translation>
        </message>
        <message>
            <source>&lt;b&gt;{token}&lt;/b&gt; (id {id}) — model p {raw_p:.3f}, sampled p {prob:.3f}, surprisal {surprisal:.2f} nats, entropy {entropy:.2f} nats</source>
            <translation>&lt;b&gt;{token}&lt;/b&gt;（id {id}）— 模型 p {raw_p:.3f}，采样 p {prob:.3f}，意外度 {surprisal:.2f} 奈特，熵 {entropy:.2f} 奈特</translation>
        </message>
        <message>
            <source> — &lt;i&gt;chosen by you&lt;/i&gt;</source>
            <translation> — &lt;i&gt;由你选择&lt;/i&gt;</translation>
        </message>
        <message>
            <source>Sampled under: </source>
            <translation>采样参数：</translation>
        </message>
        <message>
            <source>{rows} alternatives, recomputed for this position.</source>
            <translation>{rows} 个候选，为这个位置重新计算。</translation>
        </message>
        <message>
            <source>← chosen</source>
            <translation>← 选中</translation>
        </message>
        <message>
            <source>removed by {stage}</source>
            <translation>被 {stage} 去掉</translation>
        </message>
        <message>
            <source>kept</source>
            <translation>保留</translation>
        </message>
        <message>
            <source>the whole vocabulary</source>
            <translation>整个词表</translation>
        </message>
        <message>
            <source> and {n} more of those listed</source>
            <translation> 以及表中另外 {n} 个</translation>
        </message>
        <message>
            <source>removed {named}</source>
            <translation>移除了 {named}</translation>
        </message>
        <message>
            <source>took the most likely</source>
            <translation>取最可能的</translation>
        </message>
        <message>
            <source>drew</source>
            <translation>抽样得到</translation>
        </message>
        <message>
            <source>How the sampler narrowed the candidates down (bars on a log scale):</source>
            <translation>采样器如何一步步缩小候选范围（条形为对数刻度）：</translation>
        </message>
        <message>
            <source>Ten alternatives were recorded with the reply; “Show 50 alternatives” counts every stage's candidates.</source>
            <translation>回复时记录了十个候选；“显示 50 个候选”会统计每一步的候选数。</translation>
        </message>
        <message>
            <source>Computing…</source>
            <translation>正在计算…</translation>
        </message>
    </context>
    <context>
        <name>TokenTable</name>
        <message>
            <source>#</source>
            <translation>#</translation>
        </message>
        <message>
            <source>token</source>
            <translation>词元</translation>
        </message>
        <message>
            <source>id</source>
            <translation>id</translation>
        </message>
        <message>
            <source>Type in the message box: its tokens appear here.</source>
            <translation>在消息框里输入：它的词元会显示在这里。</translation>
        </message>
        <message>
            <source>%1 tokens</source>
            <translation>%1 个词元</translation>
        </message>
    </context>
    <context>
        <name>TutorialRuns</name>
        <message>
            <source>causal mask</source>
            <translation>因果掩码</translation>
        </message>
        <message>
            <source>positions</source>
            <translation>位置</translation>
        </message>
        <message>
            <source>training loss</source>
            <translation>训练损失</translation>
        </message>
        <message>
            <source>validation loss</source>
            <translation>验证损失</translation>
        </message>
        <message>
            <source>sample</source>
            <translation>样例</translation>
        </message>
        <message>
            <source>Runs of the tutorial encoder in this lesson:</source>
            <translation>本课中教程编码器的训练记录：</translation>
        </message>
        <message>
            <source>No run yet: press Pretrain in the studio.</source>
            <translation>还没有训练：在工作室里按“预训练”。</translation>
        </message>
        <message>
            <source>on</source>
            <translation>开</translation>
        </message>
        <message>
            <source>off</source>
            <translation>关</translation>
        </message>
    </context>
</TS>
